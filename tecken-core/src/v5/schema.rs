//! The v5/v4 request schema, read from a body in one bounded pass.
//!
//! # Why not `serde_json::Value`
//!
//! A `Value` tree costs ~80 bytes per frame (two numbers in an array) and has to be walked
//! again to validate. This reader validates the JSON grammar of the whole body (as Python's
//! `json.loads` does, including its `NaN`/`Infinity` literals) while keeping only what a
//! response needs: each frame as a 24-byte [`FrameRef`], each memory map entry as two string
//! slices borrowed from the body. Everything else (unknown keys, jobs past the limit, frames
//! after a job's first error) is checked for syntax and dropped.
//!
//! Memory stays bounded by the limits: at most
//! [`V5Options::max_frames`] frames and stacks and [`V5Options::max_modules`] memory map
//! entries are kept (counted as read, so a key repeated to evade the limit still counts),
//! and nesting deeper than [`MAX_DEPTH`](super::options::MAX_DEPTH) is refused before it can exhaust the stack.
//! Strings are borrowed from the body unless they contain escapes.
//!
//! The hot path is a frame: `[int, int]` with plain integers is read by one specialised
//! function ([`Reader::int_pair`]); anything else falls back to the general reader, which
//! gives the same answer (a unit test holds the two to that).
//!
//! # What is recorded instead of failing
//!
//! Eliot validates a job's memory map before its stacks and reports only the first problem,
//! but the two keys can come in either order in the body, and a frame's module index can only
//! be range-checked once the memory map's length is known. So the reader records, per job,
//! the first structural problem of each part ([`RawModules::error`], [`RawStacks::error`])
//! and keeps the frames before it; [`parse`](super::parse) then replays Eliot's checks in Eliot's
//! order.

use std::borrow::Cow;

use super::options::V5Options;
use super::reader::{PResult, ParseError, Reader, Scalar};
use super::types::{FrameRef, ModuleRef};
use super::validate::{is_valid_debug_file, is_valid_debug_id, ModuleErrorKind};

/// The top-level value of a body.
#[derive(Debug)]
pub(crate) enum RawPayload<'a> {
    /// Not an object (`is_list` when an array).
    NotObject { is_list: bool },
    /// An object: its `jobs` (v5 only; the last one if repeated) and the object itself read
    /// as a job.
    Object {
        jobs: Option<RawJobs<'a>>,
        job: RawJob<'a>,
    },
}

/// The value of `jobs`.
#[derive(Debug)]
pub(crate) enum RawJobs<'a> {
    /// An array: its first `max_jobs` elements and its length.
    List { jobs: Vec<RawJob<'a>>, count: usize },
    /// An object or a string, which Python iterates by (distinct) keys or characters.
    Keys { count: usize },
    /// Anything else.
    Other,
}

/// A job as read.
#[derive(Debug)]
pub(crate) enum RawJob<'a> {
    /// Not an object.
    NotObject,
    /// An object. Outer `None`: the key is missing; inner `None`: its value is not a list.
    Object {
        stacks: Option<Option<RawStacks>>,
        memory_map: Option<Option<RawModules<'a>>>,
    },
}

/// A `memoryMap` list as read.
#[derive(Debug, Default)]
pub(crate) struct RawModules<'a> {
    /// The valid entries before the first error.
    pub modules: Vec<ModuleRef<'a>>,
    /// The first invalid entry and what is wrong with it.
    pub error: Option<(usize, ModuleErrorKind)>,
}

/// A `stacks` list as read.
#[derive(Debug, Default)]
pub(crate) struct RawStacks {
    /// The stacks and frames before the first error.
    pub stacks: Vec<Vec<FrameRef>>,
    /// The first structural error.
    pub error: Option<StackError>,
}

/// Where the first structural error of a `stacks` list is, and what it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackError {
    pub stack: usize,
    pub frame: usize,
    pub kind: StackErrorKind,
}

/// A structural error in a stack; range checks of valid indexes are done later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StackErrorKind {
    /// The stack is not a list.
    StackNotList,
    /// The frame is not a list of two items.
    NotPair,
    /// The module index is not an integer (booleans included).
    InvalidIndex,
    /// The module index is an integer that can never be in range (`< -1`, or huge).
    IndexNotInModules,
    /// The module offset is not an integer `>= -1` that fits in 64 bits; `index` is the
    /// frame's (valid) module index, which Eliot range-checks first.
    InvalidOffset { index: Option<u32> },
}

/// Reads `body` as a v5 (`v4 == false`) or v4 payload.
pub(crate) fn parse_payload<'a>(
    body: &'a [u8],
    opts: &V5Options,
    v4: bool,
) -> PResult<RawPayload<'a>> {
    // Python's `json.loads(bytes)` decodes UTF-8 with or without a BOM.
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|_| ParseError::Syntax)?;
    let mut p = Parser {
        r: Reader::new(text),
        opts,
        v4,
        frames: 0,
        stacks: 0,
        modules: 0,
    };
    p.r.ws();
    let payload = match p.r.peek() {
        Some(b'{') => {
            let (job, jobs) = p.job_object(true)?;
            RawPayload::Object { jobs, job }
        }
        Some(b'[') => {
            p.r.skip_value()?;
            RawPayload::NotObject { is_list: true }
        }
        _ => {
            p.r.skip_value()?;
            RawPayload::NotObject { is_list: false }
        }
    };
    p.r.ws();
    if !p.r.at_end() {
        return Err(ParseError::Syntax);
    }
    Ok(payload)
}

/// The v5 schema on top of a [`Reader`], with the limits' counters.
struct Parser<'a, 'o> {
    r: Reader<'a>,
    opts: &'o V5Options,
    v4: bool,
    frames: usize,
    stacks: usize,
    modules: usize,
}

impl<'a> Parser<'a, '_> {
    /// Reads a job object (the top-level object when `top`, whose `jobs` key is also read
    /// in v5 mode).
    fn job_object(&mut self, top: bool) -> PResult<(RawJob<'a>, Option<RawJobs<'a>>)> {
        let mut stacks = None;
        let mut memory_map = None;
        let mut jobs = None;
        self.r.enter(b'{')?;
        let mut more = self.r.first_or_close(b'}');
        while more {
            let key = self.r.string()?;
            self.r.ws();
            self.r.eat(b':')?;
            self.r.ws();
            match &*key {
                "stacks" => stacks = Some(self.stacks()?),
                "memoryMap" => memory_map = Some(self.memory_map()?),
                "jobs" if top && !self.v4 => jobs = Some(self.jobs()?),
                _ => self.r.skip_value()?,
            }
            more = self.r.next_or_close(b'}')?;
        }
        Ok((RawJob::Object { stacks, memory_map }, jobs))
    }

    fn jobs(&mut self) -> PResult<RawJobs<'a>> {
        match self.r.peek() {
            Some(b'[') => {
                self.r.enter(b'[')?;
                let mut jobs = Vec::new();
                let mut count = 0;
                let mut more = self.r.first_or_close(b']');
                while more {
                    if count < self.opts.max_jobs {
                        if self.r.peek() == Some(b'{') {
                            jobs.push(self.job_object(false)?.0);
                        } else {
                            self.r.skip_value()?;
                            jobs.push(RawJob::NotObject);
                        }
                    } else {
                        self.r.skip_value()?;
                    }
                    count += 1;
                    more = self.r.next_or_close(b']')?;
                }
                Ok(RawJobs::List { jobs, count })
            }
            Some(b'{') => {
                // `len(dict)` counts distinct keys; remember them up to one past the limit.
                self.r.enter(b'{')?;
                let mut keys: Vec<Cow<'a, str>> = Vec::new();
                let mut more = self.r.first_or_close(b'}');
                while more {
                    let key = self.r.string()?;
                    if keys.len() <= self.opts.max_jobs && !keys.contains(&key) {
                        keys.push(key);
                    }
                    self.r.ws();
                    self.r.eat(b':')?;
                    self.r.ws();
                    self.r.skip_value()?;
                    more = self.r.next_or_close(b'}')?;
                }
                Ok(RawJobs::Keys { count: keys.len() })
            }
            Some(b'"') => {
                let s = self.r.string()?;
                Ok(RawJobs::Keys {
                    count: s.chars().count(),
                })
            }
            _ => self.r.skip_value().map(|_| RawJobs::Other),
        }
    }

    fn memory_map(&mut self) -> PResult<Option<RawModules<'a>>> {
        if self.r.peek() != Some(b'[') {
            self.r.skip_value()?;
            return Ok(None);
        }
        self.r.enter(b'[')?;
        let mut out = RawModules::default();
        let mut k = 0;
        let mut more = self.r.first_or_close(b']');
        while more {
            if out.error.is_some() {
                self.r.skip_value()?;
            } else {
                self.modules += 1;
                if self.modules > self.opts.max_modules {
                    return Err(ParseError::Limit("modules", self.opts.max_modules));
                }
                match self.module_entry()? {
                    Ok(m) => out.modules.push(m),
                    Err(kind) => out.error = Some((k, kind)),
                }
            }
            k += 1;
            more = self.r.next_or_close(b']')?;
        }
        Ok(Some(out))
    }

    fn module_entry(&mut self) -> PResult<Result<ModuleRef<'a>, ModuleErrorKind>> {
        if self.r.peek() != Some(b'[') {
            self.r.skip_value()?;
            return Ok(Err(ModuleErrorKind::NotPair));
        }
        self.r.enter(b'[')?;
        let mut items = [None, None];
        let mut n = 0;
        let mut more = self.r.first_or_close(b']');
        while more {
            match items.get_mut(n) {
                Some(slot) => *slot = self.r.maybe_string()?,
                None => self.r.skip_value()?,
            }
            n += 1;
            more = self.r.next_or_close(b']')?;
        }
        if n != 2 {
            return Ok(Err(ModuleErrorKind::NotPair));
        }
        let [file, id] = items;
        let Some(file) = file.filter(|f| is_valid_debug_file(f)) else {
            return Ok(Err(ModuleErrorKind::InvalidFile));
        };
        let Some(id) = id.filter(|i| is_valid_debug_id(i)) else {
            return Ok(Err(ModuleErrorKind::InvalidId));
        };
        Ok(Ok(ModuleRef {
            debug_file: file,
            debug_id: id,
        }))
    }

    fn stacks(&mut self) -> PResult<Option<RawStacks>> {
        if self.r.peek() != Some(b'[') {
            self.r.skip_value()?;
            return Ok(None);
        }
        self.r.enter(b'[')?;
        let mut out = RawStacks::default();
        let mut s = 0;
        let mut more = self.r.first_or_close(b']');
        while more {
            if out.error.is_some() {
                self.r.skip_value()?;
            } else {
                self.stacks += 1;
                if self.stacks > self.opts.max_frames {
                    return Err(ParseError::Limit("stacks", self.opts.max_frames));
                }
                self.stack(s, &mut out)?;
            }
            s += 1;
            more = self.r.next_or_close(b']')?;
        }
        Ok(Some(out))
    }

    fn stack(&mut self, s: usize, out: &mut RawStacks) -> PResult<()> {
        if self.r.peek() != Some(b'[') {
            self.r.skip_value()?;
            out.error = Some(StackError {
                stack: s,
                frame: 0,
                kind: StackErrorKind::StackNotList,
            });
            return Ok(());
        }
        self.r.enter(b'[')?;
        let mut frames = Vec::new();
        let mut f = 0;
        let mut more = self.r.first_or_close(b']');
        while more {
            if out.error.is_some() {
                self.r.skip_value()?;
            } else {
                match self.frame()? {
                    Ok(frame) => {
                        self.frames += 1;
                        if self.frames > self.opts.max_frames {
                            return Err(ParseError::Limit("frames", self.opts.max_frames));
                        }
                        frames.push(frame);
                    }
                    Err(kind) => {
                        out.error = Some(StackError {
                            stack: s,
                            frame: f,
                            kind,
                        })
                    }
                }
            }
            f += 1;
            more = self.r.next_or_close(b']')?;
        }
        out.stacks.push(frames);
        Ok(())
    }

    /// Reads one frame; the hot path (`[0, 21376]`) is two numbers between brackets.
    #[inline]
    fn frame(&mut self) -> PResult<Result<FrameRef, StackErrorKind>> {
        if let Some(items) = self.r.int_pair() {
            return Ok(frame_of(items));
        }
        if self.r.peek() != Some(b'[') {
            self.r.skip_value()?;
            return Ok(Err(StackErrorKind::NotPair));
        }
        self.r.enter(b'[')?;
        let mut items = [Scalar::Other, Scalar::Other];
        let mut n = 0;
        let mut more = self.r.first_or_close(b']');
        while more {
            match items.get_mut(n) {
                Some(slot) => *slot = self.r.classify()?,
                None => self.r.skip_value()?,
            }
            n += 1;
            more = self.r.next_or_close(b']')?;
        }
        if n != 2 {
            return Ok(Err(StackErrorKind::NotPair));
        }
        Ok(frame_of(items))
    }
}

/// A frame from its two items, or what is wrong with them (in Eliot's order).
#[inline]
fn frame_of(items: [Scalar; 2]) -> Result<FrameRef, StackErrorKind> {
    let module_index = match items[0] {
        Scalar::Int {
            neg: true,
            mag: 1,
            overflow: false,
        } => None,
        Scalar::Int { neg, mag, overflow } => {
            // `-0` is 0; anything else negative, or past u32, can never be in range
            // (memory maps are far shorter than `max_modules` <= u32::MAX allows).
            match u32::try_from(mag) {
                Ok(m) if !overflow && (!neg || m == 0) && m < u32::MAX => Some(m),
                _ => return Err(StackErrorKind::IndexNotInModules),
            }
        }
        Scalar::Bool | Scalar::Other => return Err(StackErrorKind::InvalidIndex),
    };
    let module_offset = match items[1] {
        Scalar::Int {
            neg: true,
            mag: 1,
            overflow: false,
        } => None,
        Scalar::Int {
            neg,
            mag,
            overflow: false,
        } if !neg || mag == 0 => Some(mag),
        _ => {
            return Err(StackErrorKind::InvalidOffset {
                index: module_index,
            })
        }
    };
    Ok(FrameRef {
        module_index,
        module_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v5::options::MAX_DEPTH;

    fn parse(s: &str) -> PResult<RawPayload<'_>> {
        parse_payload(s.as_bytes(), &V5Options::default(), false)
    }

    #[test]
    fn accepts_what_python_accepts() {
        for ok in [
            "{}",
            " \t\r\n{ } \n",
            "\u{feff}{}",
            "[]",
            "5",
            "-0",
            "1.5e-3",
            "1E+2",
            "NaN",
            "-Infinity",
            "Infinity",
            "null",
            r#""\u00e9\ud83d\ude00\ud800 \/\b""#,
            r#"{"a": [1, {"b": []}], "c": "d"}"#,
            r#"{"stacks": [[[0, 1]]], "stacks": 7}"#,
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn rejects_what_python_rejects() {
        for bad in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{'a': 1}",
            "01",
            "1.",
            ".5",
            "1e",
            "-",
            "+1",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\nb\"",
            "\"abc",
            "{} {}",
            "{\"a\" 1}",
            "{1: 2}",
            "[1 2]",
            "\u{a0}{}",
        ] {
            assert_eq!(parse(bad).unwrap_err(), ParseError::Syntax, "{bad:?}");
        }
        assert_eq!(
            parse_payload(b"{\"a\": \"\xff\"}", &V5Options::default(), false).unwrap_err(),
            ParseError::Syntax
        );
    }

    #[test]
    fn depth_is_bounded() {
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_DEPTH as usize),
            "]".repeat(MAX_DEPTH as usize)
        );
        assert!(parse(&ok).is_ok());
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_DEPTH as usize + 1),
            "]".repeat(MAX_DEPTH as usize + 1)
        );
        assert_eq!(parse(&deep).unwrap_err(), ParseError::TooDeep);
        let deep_in_frame = format!(r#"{{"stacks": [[[0, {}]]]}}"#, "[".repeat(1000));
        assert_eq!(parse(&deep_in_frame).unwrap_err(), ParseError::TooDeep);
    }

    #[test]
    fn frames_fast_and_general_paths_agree() {
        let frames = |stack: &str| -> Result<Vec<FrameRef>, (usize, StackErrorKind)> {
            let body = format!(r#"{{"stacks": [{stack}]}}"#);
            let RawPayload::Object {
                job:
                    RawJob::Object {
                        stacks: Some(Some(st)),
                        ..
                    },
                ..
            } = parse(&body).unwrap()
            else {
                panic!("{body}");
            };
            match st.error {
                Some(e) => Err((e.frame, e.kind)),
                None => Ok(st.stacks.into_iter().flatten().collect()),
            }
        };
        let f = |i, o| FrameRef {
            module_index: i,
            module_offset: o,
        };
        assert_eq!(
            frames("[[0,1], [ 2 , 3 ], [\n-1,\t-1], [-0, -0], [7, 999999999999999999]]"),
            Ok(vec![
                f(Some(0), Some(1)),
                f(Some(2), Some(3)),
                f(None, None),
                f(Some(0), Some(0)),
                f(Some(7), Some(999_999_999_999_999_999)),
            ])
        );
        assert_eq!(
            frames("[[0, 18446744073709551615]]"),
            Ok(vec![f(Some(0), Some(u64::MAX))])
        );
        assert_eq!(
            frames("[[0, 1234567890123456789]]"),
            Ok(vec![f(Some(0), Some(1234567890123456789))])
        );
        assert_eq!(
            frames("[[0, 18446744073709551616]]"),
            Err((0, StackErrorKind::InvalidOffset { index: Some(0) }))
        );
        assert_eq!(
            frames("[[123456789012345678, 1]]"),
            Err((0, StackErrorKind::IndexNotInModules))
        );
        assert_eq!(
            frames("[[0, 1], [-2, 1]]"),
            Err((1, StackErrorKind::IndexNotInModules))
        );
        assert_eq!(frames("[[1.0, 1]]"), Err((0, StackErrorKind::InvalidIndex)));
        assert_eq!(
            frames("[[0, 1e3]]"),
            Err((0, StackErrorKind::InvalidOffset { index: Some(0) }))
        );
        assert_eq!(frames("[[0, 1, 2]]"), Err((0, StackErrorKind::NotPair)));
        assert_eq!(
            frames("[[0, -2]]"),
            Err((0, StackErrorKind::InvalidOffset { index: Some(0) }))
        );
        for bad in ["[[01, 1]]", "[[0, 1,]]", "[[0 1]]", "[[-, 1]]", "[[0, 1]"] {
            let body = format!(r#"{{"stacks": [{bad}]}}"#);
            assert_eq!(parse(&body).unwrap_err(), ParseError::Syntax, "{bad}");
        }
    }

    #[test]
    fn keys_may_be_escaped() {
        let RawPayload::Object {
            jobs: Some(RawJobs::List { count, .. }),
            ..
        } = parse(r#"{"\u006aobs": [1, 2]}"#).unwrap()
        else {
            panic!("jobs not found");
        };
        assert_eq!(count, 2);
    }
}
