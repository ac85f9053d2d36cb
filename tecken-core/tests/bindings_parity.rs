//! The binding parity fixture (`fixtures/bindings/parity.json`) checked against the core.
//!
//! The Python and Node test suites check the same cases against their bindings, so a
//! binding that answers differently from the core, or lacks a field or an option the
//! other has, fails its suite. The expected values are the core's: run this test with
//! `TECKEN_BLESS_PARITY=1` to write them into the fixture after a deliberate change, and
//! review the diff. The fixture's format is described in `fixtures/bindings/README.md`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tecken_core::BuildOptions;
use tecken_core::OwnedFrame;
use tecken_core::V5Options;
use tecken_core::{parse_sym_header, ParseOptions};
use tecken_core::{symbol_stores, BodyMode, Download, DownloadRequest, StoreSpec, SymbolStore};
use tecken_core::{upload_archive, ArchiveSource, UploadOptions};
use tecken_core::{ChunkOutcome, FileAction, FileSpec, SessionLimits, UploadSessions};
use tecken_core::{Error, Frame, Index, LookupOptions, Symbolicator, SymbolicatorConfig};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture_path() -> PathBuf {
    repo_root().join("fixtures/bindings/parity.json")
}

/// The case's input bytes: `data` (text) when present, else the file named by `key`.
fn input(case: &Value, key: &str) -> Vec<u8> {
    match case.get("data").and_then(Value::as_str) {
        Some(text) => text.as_bytes().to_vec(),
        None => std::fs::read(repo_root().join(case[key].as_str().unwrap())).unwrap(),
    }
}

fn opt<'a>(case: &'a Value, name: &str) -> Option<&'a Value> {
    case.get("options").and_then(|o| o.get(name))
}

/// An error in the bindings' neutral form: the kind, the HTTP status, and Eliot's body
/// when the error carries one.
fn error_value(e: &Error, body: Option<&[u8]>) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), e.kind().as_str().into());
    out.insert("status".into(), e.kind().http_status().into());
    if let Some(body) = body {
        out.insert("body".into(), String::from_utf8_lossy(body).into());
    }
    json!({ "error": out })
}

fn frame_value(f: &Frame<'_>) -> Value {
    serde_json::to_value(OwnedFrame::from(f)).unwrap()
}

fn build(case: &Value) -> Result<Index, Error> {
    let strict = opt(case, "strict")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let opts = BuildOptions {
        parse: ParseOptions {
            strict,
            ..ParseOptions::default()
        },
    };
    tecken_core::build_index(&input(case, "sym"), &opts).map(|(index, _)| index)
}

fn header_value(index: &Index) -> Value {
    serde_json::to_value(index.header()).unwrap()
}

/// A local store in a new temporary directory with the case's `archive` uploaded
/// (`options.archive_name`), and the upload's result.
fn uploaded(case: &Value) -> (tempfile::TempDir, SymbolStore, Value) {
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path()).unwrap();
    let options = UploadOptions {
        archive_name: opt(case, "archive_name")
            .and_then(Value::as_str)
            .map(Into::into),
        ..UploadOptions::default()
    };
    let archive = repo_root().join(case["archive"].as_str().unwrap());
    let result = match upload_archive(&store, ArchiveSource::Path(&archive), &options) {
        Ok(r) => serde_json::to_value(r).unwrap(),
        Err(e) => error_value(&e, None),
    };
    (dir, store, result)
}

/// The bindings' syminfo dict / object: the core's `SymInfo` as it serializes.
fn syminfo_value(store: &SymbolStore, file: &str, id: &str) -> Value {
    match store.syminfo(file, id) {
        Ok(Some(s)) => serde_json::to_value(s).unwrap(),
        Ok(None) => Value::Null,
        Err(e) => error_value(&e, None),
    }
}

/// The bindings' download dict / object (the body as text).
fn download_value(store: &SymbolStore, r: &Value) -> Value {
    let s = |k: &str| r[k].as_str().unwrap();
    let o = |k: &str| r.get("options").and_then(|o| o.get(k));
    let req = DownloadRequest {
        try_symbols: o("try").and_then(Value::as_bool).unwrap_or(false),
        code_file: o("code_file").and_then(Value::as_str).map(Into::into),
        code_id: o("code_id").and_then(Value::as_str).map(Into::into),
        body: o("body")
            .and_then(Value::as_str)
            .map_or(BodyMode::Decoded, |b| b.parse().unwrap()),
        ..DownloadRequest::new(s("debug_file"), s("debug_id"), s("file"))
    };
    let d = match store.download(&req) {
        Ok(d) => d,
        Err(e) => return error_value(&e, None),
    };
    let mut value = serde_json::to_value(d.summary()).unwrap();
    value["body"] = match &d {
        Download::Found(f) => f.body.as_deref().map(String::from_utf8_lossy).into(),
        _ => Value::Null,
    };
    value
}

fn symbolicator(case: &Value) -> (Symbolicator, V5Options, Vec<u8>) {
    let specs: Vec<String> = case["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| repo_root().join(s.as_str().unwrap()).display().to_string())
        .collect();
    let sources = symbol_stores(&StoreSpec::parse_list(&specs).unwrap()).unwrap();
    let mut config = SymbolicatorConfig::default();
    let mut v5_opts = V5Options::default();
    for (name, value) in case
        .get("options")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let n = value.as_u64();
        match name.as_str() {
            "max_open_bytes" => config.max_open_bytes = n.unwrap(),
            "max_cache_bytes" => config.max_cache_bytes = n,
            "max_negative_entries" => config.max_negative_entries = n.unwrap() as usize,
            "negative_ttl" => {
                config.negative_ttl = Duration::from_secs_f64(value.as_f64().unwrap())
            }
            "max_jobs" => v5_opts.max_jobs = n.unwrap() as usize,
            "max_frames" => v5_opts.max_frames = n.unwrap() as usize,
            "max_modules" => v5_opts.max_modules = n.unwrap() as usize,
            "max_body_bytes" => v5_opts.max_body_bytes = n.unwrap() as usize,
            other => panic!("{}: unknown symbolicator option {other}", case["name"]),
        }
    }
    let body = match case.get("request_text").and_then(Value::as_str) {
        Some(text) => text.as_bytes().to_vec(),
        None => serde_json::to_vec(&case["request"]).unwrap(),
    };
    (Symbolicator::new(sources, config), v5_opts, body)
}

/// `symbolicate_v5_with_status`: the status and the parsed body, whatever the status.
fn symbolicate_v5_with_status(case: &Value) -> Value {
    let (sym, v5_opts, body) = symbolicator(case);
    let resp = tecken_core::symbolicate_v5(&sym, &body, &v5_opts);
    json!({
        "status": resp.status,
        "response": serde_json::from_slice::<Value>(&resp.body).unwrap(),
    })
}

fn symbolicate_v5(case: &Value) -> Value {
    let (sym, v5_opts, body) = symbolicator(case);
    let resp = tecken_core::symbolicate_v5(&sym, &body, &v5_opts);
    match tecken_core::parse_v5(&body, &v5_opts) {
        Ok(_) => {
            assert_eq!(resp.status, 200);
            json!({ "response": serde_json::from_slice::<Value>(&resp.body).unwrap() })
        }
        Err(e) => {
            assert_eq!(resp.status, e.kind().http_status().max(resp.status));
            let mut v = error_value(&e, Some(&resp.body));
            v["error"]["status"] = resp.status.into();
            v
        }
    }
}

/// The actions of an upload v2 `start`, a session id shown as `<session>` (ids are
/// random).
fn planned_value(planned: &[tecken_core::PlannedUpload]) -> Value {
    Value::Array(
        planned
            .iter()
            .map(|p| {
                let action = match &p.action {
                    FileAction::Upload { .. } => json!({"type": "upload", "session": "<session>"}),
                    FileAction::Skip => json!({"type": "skip"}),
                    FileAction::Error(msg) => json!({"type": "error", "msg": msg}),
                };
                json!({"key": p.key, "action": action})
            })
            .collect(),
    )
}

/// `upload_v2`: `start` for the file `sym` under `key`, its `chunks` (sizes; `null` is the
/// rest) sent to the session, then `start` again.
fn upload_v2(case: &Value) -> Value {
    use md5::Digest;
    let data = input(case, "sym");
    let dir = tempfile::tempdir().unwrap();
    let store = SymbolStore::local(dir.path().join("store")).unwrap();
    let sessions =
        UploadSessions::new(dir.path().join("sessions"), SessionLimits::default()).unwrap();
    let options = UploadOptions {
        try_symbols: opt(case, "try").and_then(Value::as_bool).unwrap_or(false),
        ..UploadOptions::default()
    };
    let spec = FileSpec {
        key: case["key"].as_str().unwrap().to_owned(),
        size: data.len() as u64,
        md5_hash: md5::Md5::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    let planned = match sessions.start(&store, std::slice::from_ref(&spec), &options) {
        Ok(p) => p,
        Err(e) => return error_value(&e, None),
    };
    let mut chunks = Vec::new();
    if let FileAction::Upload { session } = &planned[0].action {
        let mut pos = 0;
        for size in case["chunks"].as_array().unwrap() {
            let n = size.as_u64().map_or(data.len() - pos, |n| n as usize);
            let range = format!("bytes {pos}-{}/{}", pos + n - 1, data.len());
            let body = &mut &data[pos..pos + n];
            let outcome = sessions.put_chunk(&store, session, &range, body, &options);
            pos += n;
            chunks.push(match outcome {
                Ok(ChunkOutcome::Incomplete { received }) => {
                    json!({"complete": false, "received": received})
                }
                Ok(ChunkOutcome::Complete { file, result }) => {
                    let mut f = serde_json::to_value(&file).unwrap();
                    f["md5_base64"] = file.md5_base64().into();
                    json!({"complete": true, "received": file.size, "file": f, "result": result})
                }
                Err(e) => error_value(&e, None),
            });
        }
    }
    let again = sessions
        .start(&store, std::slice::from_ref(&spec), &options)
        .unwrap();
    json!({"planned": planned_value(&planned), "chunks": chunks, "again": planned_value(&again)})
}

/// What the core answers for a case, in the fixture's neutral form.
fn evaluate(case: &Value) -> Value {
    match case["op"].as_str().unwrap() {
        "parse_sym_header" => match parse_sym_header(&input(case, "sym")) {
            Ok(h) => serde_json::to_value(h).unwrap(),
            Err(e) => error_value(&e, None),
        },
        "build_index" => match build(case) {
            Ok(index) => json!({ "header": header_value(&index) }),
            Err(e) => error_value(&e, None),
        },
        "open_index" => match Index::open(repo_root().join(case["index"].as_str().unwrap())) {
            Ok(index) => json!({ "header": header_value(&index) }),
            Err(e) => error_value(&e, None),
        },
        "index_meta" => match build(case) {
            Ok(index) => json!({ "meta": serde_json::to_value(index.meta()).unwrap() }),
            Err(e) => error_value(&e, None),
        },
        "verify" => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("index");
            tecken_core::build_index_to_file(&input(case, "sym"), &path, &BuildOptions::default())
                .unwrap();
            match Index::open(&path).and_then(|i| i.verify()) {
                Ok(()) => json!({ "verified": true }),
                Err(e) => error_value(&e, None),
            }
        }
        "upload_archive" => match uploaded(case).2 {
            e @ Value::Object(_) if e.get("error").is_some() => e,
            result => json!({ "upload": result }),
        },
        "syminfo" => {
            let (_dir, store, _) = uploaded(case);
            let queries = case["queries"].as_array().unwrap().iter();
            Value::Array(
                queries
                    .map(|q| syminfo_value(&store, q[0].as_str().unwrap(), q[1].as_str().unwrap()))
                    .collect(),
            )
        }
        "download" => {
            let (_dir, store, _) = uploaded(case);
            let requests = case["requests"].as_array().unwrap().iter();
            Value::Array(requests.map(|r| download_value(&store, r)).collect())
        }
        "symbolicate_v5_with_status" => symbolicate_v5_with_status(case),
        "lookup" | "lookup_many" => {
            let index = build(case).unwrap();
            let opts = LookupOptions {
                strict_lines: opt(case, "strict_lines")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            };
            let frames = case["addresses"].as_array().unwrap().iter().map(|a| {
                index
                    .lookup_with(a.as_u64().unwrap(), &opts)
                    .map_or(Value::Null, |f| frame_value(&f))
            });
            Value::Array(frames.collect())
        }
        "symbolicate_v5" => symbolicate_v5(case),
        "upload_v2" => upload_v2(case),
        other => panic!("{}: unknown op {other}", case["name"]),
    }
}

#[test]
fn parity_fixture_matches_the_core() {
    let path = fixture_path();
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bless = std::env::var_os("TECKEN_BLESS_PARITY").is_some();
    let mut wrong = Vec::new();
    for case in doc["cases"].as_array_mut().unwrap() {
        let got = evaluate(case);
        if bless {
            case["expect"] = got;
        } else if case.get("expect") != Some(&got) {
            wrong.push(format!(
                "{}: expected {}\n  core says {got}",
                case["name"],
                case.get("expect").unwrap_or(&Value::Null)
            ));
        }
    }
    if bless {
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
