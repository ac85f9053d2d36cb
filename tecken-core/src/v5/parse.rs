//! Parsing a v5/v4 body into typed jobs, with Eliot's checks in Eliot's order.
//!
//! [`parse_v5`] and [`parse_v4`] turn a body into typed [`Job`]s or the exact error Eliot
//! answers (see the [v5 docs](super) for the order of the checks): [`schema`]
//! reads the body in one bounded pass and records the first problem of each part, then
//! [`into_job`] replays Eliot's checks on what was read, using the rules of
//! [`validate`](super::validate). HTTP layers that want to do their own I/O call these and
//! then `write_v5` / `write_v4`; callers that do not speak JSON build [`Job`]s themselves
//! and call `symbolicate_jobs`.

use super::options::V5Options;
use super::reader::ParseError;
use super::schema::{self, RawJob, RawJobs, RawPayload, StackErrorKind};
use super::types::{Job, V5Request};
use super::validate::{
    check_body_size, check_job_count, first_index_out_of_range, invalid_module, invalid_modules,
    invalid_stacks, job_invalid, no_stacks, not_in_modules,
};
use crate::error::{Error, Result};

/// Parses and validates a `/symbolicate/v5` body: a job object, or `{"jobs": [...]}`.
///
/// Errors are [`Error::bad_request`] with Eliot's status and title (see the module docs).
pub fn parse_v5<'a>(body: &'a [u8], opts: &V5Options) -> Result<V5Request<'a>> {
    check_body_size(body, opts)?;
    let payload = schema::parse_payload(body, opts, false).map_err(ParseError::into_error)?;
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
    match schema::parse_payload(body, opts, true).map_err(ParseError::into_error)? {
        RawPayload::NotObject { .. } => Err(job_invalid(0)),
        RawPayload::Object { job, .. } => into_job(job, 0),
    }
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
        return Err(invalid_module(i, k, kind));
    }
    let Some(stacks) = stacks else {
        return Err(invalid_stacks(i, "stacks must be a list of lists"));
    };
    if stacks.stacks.is_empty() && stacks.error.is_none() {
        return Err(no_stacks(i));
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::v5::FrameRef;

    fn title(body: &str) -> (u16, String) {
        let e = parse_v5(body.as_bytes(), &V5Options::default()).unwrap_err();
        (e.http_status(), e.message().to_owned())
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
}
