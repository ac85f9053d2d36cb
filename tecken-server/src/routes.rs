//! The routes. Dispatch is a `match` on the path: a handful of fixed paths, then Tecken's
//! download pattern `[/try]/{debug_file}/{debug_id}/{file}`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, LOCATION};
use hyper::{Method, Request};
use tecken_core::CsvOptions;
use tecken_core::{symbolicate_v4, symbolicate_v5};
use tecken_core::{BodyMode, BodyStream, Download, DownloadRequest};
use tokio::time::Instant;

use super::body::{prefetch, Prefetched};
use super::http::{
    accepts_gzip, content_length, detailed, eliot, eliot_cors, empty, falcon_error, noted,
    percent_decode, py_json, query_param, read_body, respond, tecken_cors, tecken_error,
    tecken_method_not_allowed, Body, BodyError, Resp, JSON, TEXT,
};
use super::state::State;
use super::upload;
use super::upload_v2;
use crate::Api;

/// Bodies above this go straight to the blocking pool: a warm answer to a huge request
/// takes milliseconds, too long to hold an async worker.
const INLINE_MAX_BODY: usize = 64 * 1024;

/// Per-request settings from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for the next piece of a request body (`--timeout`).
    pub body_idle: Duration,
    /// Longest time to read a whole request body, uploads excepted (`--request-timeout`).
    pub body_deadline: Duration,
    /// Longest time to read a whole upload (`--upload-timeout`).
    pub upload_deadline: Duration,
}

/// Answers one request.
pub async fn route(state: &Arc<State>, req: Request<Incoming>, limits: Limits) -> Resp {
    let path = req.uri().path();
    // Targets that are not a path: `CONNECT host:port` (authority form) and `OPTIONS *`.
    // An absolute-form target (`GET http://host/path`) has a path and is served as that
    // path, as RFC 9112 asks of servers.
    if req.method() == Method::CONNECT {
        let mut r = respond(405, TEXT, "Method Not Allowed");
        r.headers_mut().insert(
            "allow",
            HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
        );
        return r;
    }
    if !path.starts_with('/') {
        if req.method() == Method::OPTIONS && path == "*" {
            let mut r = empty(200);
            r.headers_mut().insert(
                "allow",
                HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
            );
            r.headers_mut()
                .insert("content-length", HeaderValue::from_static("0"));
            return r;
        }
        return respond(400, TEXT, "Bad Request");
    }
    // Routes both services have.
    match path {
        "/__lbheartbeat__" => return empty(200),
        "/symbolicate/v5" => return symbolicate(state, req, false, limits).await,
        "/symbolicate/v4" => return symbolicate(state, req, true, limits).await,
        "/__heartbeat__" => return heartbeat(state).await,
        "/__version__" => return version(),
        // Eliot's (and Dockerflow's) deliberately failing route: proves that a panic in a
        // handler is a 500 for that request and nothing more.
        "/__broken__" => panic!("intentional panic (/__broken__)"),
        "/" => return index(state.api),
        _ => {}
    }
    if state.api == Api::Eliot {
        return not_found(state.api, &req);
    }
    // Tecken's.
    match path {
        "/upload/" | "/upload" => return upload::handle(state, req, limits).await,
        "/upload/auth_info/" | "/upload/auth_info" => {
            return upload::vary_auth_token(upload_auth_info(state, &req))
        }
        "/api/_auth/" | "/api/_auth" => return upload::vary_auth_token(auth_info(state, &req)),
        "/upload/v2/" | "/upload/v2" => {
            return upload::vary_auth_token(upload_v2::start(state, req, limits).await)
        }
        "/missingsymbols.csv" => return missing_csv(state, &req),
        _ => {}
    }
    if let Some(id) = path.strip_prefix(upload_v2::SESSION_PREFIX) {
        let id = id.to_owned();
        return upload_v2::chunk(state, req, &id, limits).await;
    }
    if let Some(rest) = path.strip_prefix("/api/syminfo/") {
        let rest = rest.to_owned();
        return syminfo(state, &req, &rest).await;
    }
    let (try_path, rest) = match path.strip_prefix("/try/") {
        Some(r) => (true, r),
        None => (false, path.strip_prefix('/').unwrap_or(path)),
    };
    let segs: Vec<&str> = rest.split('/').collect();
    if let [a, b, c] = segs[..] {
        if !a.is_empty() && !b.is_empty() && !c.is_empty() {
            let parts = (percent_decode(a), percent_decode(b), percent_decode(c));
            let (Some(a), Some(b), Some(c)) = parts else {
                // Tecken's URL pattern does not match such keys: a plain 404.
                return respond(404, TEXT, "Symbol Not Found");
            };
            return download(state, &req, try_path, a, b, c).await;
        }
    }
    not_found(state.api, &req)
}

/// `/`: what is served here.
fn index(api: Api) -> Resp {
    let routes = match api {
        Api::Both => {
            "POST /symbolicate/v5, /symbolicate/v4, /upload/; \
             GET /{debug_file}/{debug_id}/{file}, /api/syminfo/{file}/{id}"
        }
        Api::Tecken => {
            "POST /upload/, /symbolicate/v5, /symbolicate/v4; \
             GET /{debug_file}/{debug_id}/{file}, /api/syminfo/{file}/{id}"
        }
        Api::Eliot => "POST /symbolicate/v5, /symbolicate/v4",
    };
    respond(200, TEXT, format!("tecken serve: {routes}\n"))
}

/// An unknown path: Tecken's JSON 404 (`{"error": "Not Found", "path": "/x"}`, its
/// `handler404`) with `--api tecken`, else Eliot's (Falcon's) `{"title": "404 Not Found"}`.
fn not_found(api: Api, req: &Request<Incoming>) -> Resp {
    if api == Api::Tecken {
        let body = serde_json::json!({"error": "Not Found", "path": req.uri().path()});
        return respond(404, JSON, py_json(&body));
    }
    let mut r = falcon_error(404, "404 Not Found");
    eliot_cors(req.headers(), &mut r, None);
    r
}

/// When a token of the `--tokens` file expires: never, said as the last second of year
/// 9999 (`token_expires_at` is a number of seconds; Tecken's tokens have a date).
pub(crate) const TOKEN_NEVER_EXPIRES: u64 = 253_402_300_799;

/// `POST /upload/auth_info/`: the preflight request of Mozilla's `upload-symbols` client
/// before it uploads, checking its token and asking which upload API to use. Tecken's
/// answer: `email`, `try_symbols` (the token's uploads go to the Try area: it may upload
/// only there), `token_expires_at` (Unix seconds), `upload_api_version` and
/// `opentelemetry` (where the client sends its telemetry: nowhere here, `null`). Errors are
/// Tecken's 4xx `{"error": ...}`, which that client reads.
fn upload_auth_info(state: &Arc<State>, req: &Request<Incoming>) -> Resp {
    if !matches!(*req.method(), Method::POST | Method::GET) {
        return tecken_method_not_allowed(req);
    }
    let grant = match upload::authenticate(state, req) {
        Ok(g) => g,
        Err(msg) => return tecken_error(403, msg),
    };
    let body = serde_json::json!({
        "email": grant.user,
        "try_symbols": grant.perms.try_upload && !grant.perms.upload,
        "token_expires_at": TOKEN_NEVER_EXPIRES,
        "upload_api_version": state.upload_api_version,
        "opentelemetry": null,
    });
    respond(200, JSON, py_json(&body))
}

/// `GET /api/_auth/` (Tecken's web front end asks it): who the `Auth-Token` is and what
/// it may do. Without a token: Tecken's anonymous answer (`sign_in_url`; there is no
/// sign-in page here, so it is `null`); a token that does not match: Tecken's 403
/// `API Token not matched`.
fn auth_info(state: &Arc<State>, req: &Request<Incoming>) -> Resp {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return tecken_method_not_allowed(req);
    }
    if req.headers().get("auth-token").is_none() {
        let body = serde_json::json!({"sign_in_url": null});
        return respond(200, JSON, py_json(&body));
    }
    let grant = match upload::authenticate(state, req) {
        Ok(g) => g,
        Err(msg) => return tecken_error(403, msg),
    };
    let mut permissions = Vec::new();
    if grant.perms.upload {
        permissions.push("upload.upload_symbols");
    }
    if grant.perms.try_upload {
        permissions.push("upload.upload_try_symbols");
    }
    let body = serde_json::json!({
        "user": {
            "email": grant.user,
            "is_active": true,
            "permissions": permissions,
        }
    });
    respond(200, JSON, py_json(&body))
}

/// `/symbolicate/v5` and `/v4`: Eliot's answers, inline when every module is warm.
async fn symbolicate(state: &Arc<State>, req: Request<Incoming>, v4: bool, limits: Limits) -> Resp {
    let deadline = Instant::now() + limits.body_deadline;
    let headers = req.headers().clone();
    let mut resp = match *req.method() {
        Method::POST => {
            let debug = headers.get("debug").is_some_and(|v| !v.is_empty());
            let opts = if debug && !v4 {
                &state.v5_debug
            } else {
                &state.v5
            };
            let declared = content_length(&headers);
            let body = match read_body(
                req.into_body(),
                declared,
                opts.max_body_bytes,
                limits.body_idle,
                deadline,
            )
            .await
            {
                // The core answers an oversized body with Eliot's 413.
                Ok(b) | Err(BodyError::TooLarge(b)) => b,
                Err(BodyError::Timeout) => {
                    let mut r = falcon_error(408, "408 Request Timeout");
                    // The rest of the body may still come: this connection is done.
                    r.headers_mut()
                        .insert("connection", HeaderValue::from_static("close"));
                    return noted(r, "timeout");
                }
                Err(BodyError::Broken) => return falcon_error(400, "400 Bad Request"),
            };
            symbolicate_body(state, body, v4, debug).await
        }
        Method::OPTIONS => {
            let mut r = empty(200);
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("POST"));
            r.headers_mut()
                .insert("content-length", HeaderValue::from_static("0"));
            r
        }
        _ => {
            let mut r = falcon_error(405, "405 Method Not Allowed");
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("POST, OPTIONS"));
            r
        }
    };
    eliot_cors(&headers, &mut resp, Some("POST"));
    resp
}

async fn symbolicate_body(state: &Arc<State>, body: Bytes, v4: bool, debug: bool) -> Resp {
    let opts = if debug && !v4 {
        &state.v5_debug
    } else {
        &state.v5
    };
    if body.len() <= INLINE_MAX_BODY {
        // Modules in memory only: never blocks (see `Symbolicator::cached_only`).
        let warm = state.symbolicator.cached_only();
        let r = if v4 {
            symbolicate_v4(&warm, &body, opts)
        } else {
            symbolicate_v5(&warm, &body, opts)
        };
        if !warm.missed() {
            return noted(eliot(r), "inline");
        }
    }
    let st = state.clone();
    let r = tokio::task::spawn_blocking(move || {
        let p = &st.symbolicator;
        let opts = if debug && !v4 { &st.v5_debug } else { &st.v5 };
        if v4 {
            symbolicate_v4(p, &body, opts)
        } else {
            symbolicate_v5(p, &body, opts)
        }
    })
    .await;
    match r {
        Ok(r) => noted(eliot(r), "cold"),
        // A panic in the core: Falcon's generic 500.
        Err(_) => noted(falcon_error(500, "500 Internal Server Error"), "panic"),
    }
}

/// `GET`/`HEAD [/try]/{debug_file}/{debug_id}/{file}`.
async fn download(
    state: &Arc<State>,
    req: &Request<Incoming>,
    try_path: bool,
    debug_file: String,
    debug_id: String,
    file: String,
) -> Resp {
    let start = Instant::now();
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        Method::OPTIONS => {
            let mut r = empty(200);
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("GET, HEAD, OPTIONS"));
            tecken_cors(&mut r);
            return r;
        }
        _ => {
            let mut r = respond(405, TEXT, "Method Not Allowed");
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("GET, HEAD"));
            return r;
        }
    };
    let query = req.uri().query();
    let try_symbols = try_path || query_param(query, "try").is_some();
    let redirecting = state.redirect_base.is_some();
    let gzip_ok = accepts_gzip(req.headers());
    let dreq = DownloadRequest {
        debug_file,
        debug_id,
        file,
        try_symbols,
        code_file: query_param(query, "code_file"),
        code_id: query_param(query, "code_id"),
        body: if head || redirecting {
            BodyMode::None
        } else if gzip_ok {
            BodyMode::StoredStream
        } else {
            BodyMode::DecodedStream
        },
    };
    // Tecken's rule (`1`, `true`, `yes`), not Eliot's (any value).
    let debug = req
        .headers()
        .get("debug")
        .and_then(|v| v.to_str().ok())
        .is_some_and(tecken_core::tecken_debug_requested);

    // A HEAD on local disks is a stat and a 512-byte read: inline. Anything else may read
    // a large file or go over the network: the blocking pool.
    let (result, note) = if dreq.body == BodyMode::None && state.store_is_local {
        (state.store.download(&dreq), "inline")
    } else {
        // For a GET this opens the file (or the upstream response) and reads its first
        // chunk; a file that fits in it is answered whole (one hop to the blocking pool,
        // and a `Content-Length`), a larger one streams the rest (see `body`).
        let st = state.clone();
        let dreq = dreq.clone();
        let work = move || match st.store.download(&dreq)? {
            Download::Found(mut f) => {
                if let Some(stream) = f.stream.take() {
                    match prefetch(stream.reader, stream.len) {
                        Ok(Prefetched::Whole(b)) => f.body = Some(b),
                        Ok(Prefetched::Partial(reader, len)) => {
                            f.stream = Some(BodyStream { reader, len })
                        }
                        Err(e) => {
                            return Err(tecken_core::Error::new(
                                tecken_core::ErrorKind::Io,
                                format!("{}: {e}", f.storage_key),
                            ))
                        }
                    }
                }
                Ok(Download::Found(f))
            }
            other => Ok(other),
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(r) => (r, "blocking"),
            Err(_) => return noted(respond(500, TEXT, "Internal Server Error"), "panic"),
        }
    };

    let mut resp = match result {
        Err(e) if e.kind() == tecken_core::ErrorKind::InvalidInput => detailed(
            respond(400, TEXT, state.private_paths.redact(e.message())),
            e.to_string(),
        ),
        Err(e) => storage_error(&e),
        Ok(Download::Ignored) => {
            let mut r = respond(404, TEXT, "Symbol Not Found (and ignored)");
            if debug {
                // Tecken: nothing was looked up, so nothing took time.
                r.headers_mut()
                    .insert("debug-time", HeaderValue::from_static("0"));
            }
            r
        }
        Ok(Download::NotFound) => {
            if !head && redirecting {
                // BodyMode::None does not record misses; a GET is one.
                let _ = state.missing.record(
                    &dreq.debug_file,
                    &dreq.debug_id.to_ascii_uppercase(),
                    dreq.code_file.as_deref().unwrap_or(""),
                    dreq.code_id.as_deref().unwrap_or(""),
                );
            }
            respond(404, TEXT, "Symbol Not Found")
        }
        Ok(Download::Redirect(key)) => {
            // Tecken redirects to the debug file's URL, keeping the query string.
            let mut loc = String::new();
            if try_path {
                loc.push_str("/try");
            }
            loc.push('/');
            loc.push_str(&key.to_string());
            if let Some(q) = query {
                loc.push('?');
                loc.push_str(q);
            }
            let mut r = empty(302);
            if let Ok(v) = HeaderValue::from_str(&loc) {
                r.headers_mut().insert(LOCATION, v);
            }
            noted(r, "code-id")
        }
        Ok(Download::Found(found)) => {
            if head {
                // Tecken (Django) answers HEAD with an empty body and `Content-Length: 0`;
                // clients that do not special-case HEAD (wrk) need the length too.
                let mut r = empty(200);
                r.headers_mut()
                    .insert("content-length", HeaderValue::from_static("0"));
                if let Some(ct) = found.meta.content_type.as_deref() {
                    if let Ok(v) = HeaderValue::from_str(ct) {
                        r.headers_mut().insert("content-type", v);
                    }
                }
                r
            } else if let Some(base) = &state.redirect_base {
                let url = format!("{base}/{}", found.storage_key);
                let mut r = empty(302);
                if let Ok(v) = HeaderValue::from_str(&url) {
                    r.headers_mut().insert(LOCATION, v);
                }
                noted(r, "redirect")
            } else {
                let ct = if found.key.file().ends_with(".sym") {
                    "text/plain"
                } else {
                    "application/octet-stream"
                };
                let body = match found.stream {
                    Some(stream) => Body::stream(
                        stream.reader,
                        stream.len,
                        state.log.clone(),
                        found.storage_key.clone(),
                    ),
                    None => Body::full(found.body.unwrap_or_default()),
                };
                let mut r = respond(200, ct, Bytes::new());
                *r.body_mut() = body;
                if let Some(enc) = found.content_encoding.as_deref() {
                    if let Ok(v) = HeaderValue::from_str(enc) {
                        r.headers_mut().insert(CONTENT_ENCODING, v);
                    }
                }
                noted(r, "stream")
            }
        }
    };
    tecken_cors(&mut resp);
    if debug && !resp.headers().contains_key("debug-time") {
        let t = format!("{:.6}", start.elapsed().as_secs_f64());
        if let Ok(v) = HeaderValue::from_str(&t) {
            resp.headers_mut().insert("debug-time", v);
        }
    }
    if resp.extensions().get::<super::log::Note>().is_none() {
        resp = noted(resp, note);
    }
    resp
}

/// `GET /api/syminfo/{file}/{id}`.
async fn syminfo(state: &Arc<State>, req: &Request<Incoming>, rest: &str) -> Resp {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return tecken_method_not_allowed(req);
    }
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let [file, id] = segs[..] else {
        return respond(404, TEXT, "Code file / id Not Found");
    };
    let (Some(file), Some(id)) = (percent_decode(file), percent_decode(id)) else {
        return respond(404, TEXT, "Code file / id Not Found");
    };
    let st = state.clone();
    let r = tokio::task::spawn_blocking(move || st.store.syminfo(&file, &id)).await;
    match r {
        Ok(Ok(Some(info))) => {
            // Tecken's own download URL, with `--redirect-base` too (a download there
            // still counts misses and follows code ids); the configured base, never the
            // request's `Host`: a client must not choose where the answer points others.
            let try_prefix = if info.area == tecken_core::Area::Try {
                "/try"
            } else {
                ""
            };
            let url = format!("{}{try_prefix}/{}", state.public_url, info.key);
            let body = serde_json::json!({
                "debug_filename": info.debug_filename,
                "debug_id": info.debug_id,
                "code_file": info.code_file,
                "code_id": info.code_id,
                "generator": info.generator,
                "url": url,
            });
            let mut r = respond(200, JSON, py_json(&body));
            tecken_cors(&mut r);
            r
        }
        Ok(Ok(None)) => respond(404, TEXT, "Code file / id Not Found"),
        Ok(Err(e)) => storage_error(&e),
        Err(_) => noted(respond(500, TEXT, "Internal Server Error"), "panic"),
    }
}

/// A storage failure: 503 for a remote store's (transient) error, 500 otherwise; the
/// answer says no more than that (the error may name server paths), the log line has it.
fn storage_error(e: &tecken_core::Error) -> Resp {
    let status = if e.kind() == tecken_core::ErrorKind::Storage {
        503
    } else {
        500
    };
    detailed(respond(status, TEXT, "Storage error"), e.to_string())
}

/// `GET /missingsymbols.csv` (`?counts=1` adds `count,last_seen`; `?all=1` includes
/// non-`.pdb` modules).
fn missing_csv(state: &Arc<State>, req: &Request<Incoming>) -> Resp {
    let q = req.uri().query();
    let flag = |k: &str| query_param(q, k).is_some_and(|v| v != "0" && v != "false");
    let opts = CsvOptions {
        pdb_only: !flag("all"),
        with_counts: flag("counts"),
        ..CsvOptions::default()
    };
    match state.missing.to_csv(&opts) {
        Ok(csv) => respond(200, "text/csv", csv),
        Err(e) => detailed(respond(500, TEXT, "Internal Server Error"), e.to_string()),
    }
}

/// `/__heartbeat__`: the store answers and the cache directory is writable.
async fn heartbeat(state: &Arc<State>) -> Resp {
    let st = state.clone();
    let r = tokio::task::spawn_blocking(move || {
        let mut checks = serde_json::Map::new();
        let mut ok = true;
        let store = match st
            .store
            .storage()
            .head("v1/__heartbeat__/0/__heartbeat__.sym")
        {
            Ok(_) => "ok".to_owned(),
            Err(e) => {
                ok = false;
                format!("error: {}", st.private_paths.redact(&e.to_string()))
            }
        };
        checks.insert("store".into(), store.into());
        if let Some(dir) = &st.symbolicator.config().cache_dir {
            let probe = dir.join(".heartbeat");
            let r = std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(&probe, b"ok"))
                .and_then(|_| std::fs::remove_file(&probe));
            let v = match r {
                Ok(()) => "ok".to_owned(),
                Err(e) => {
                    ok = false;
                    format!("error: {}", st.private_paths.redact(&e.to_string()))
                }
            };
            checks.insert("cache".into(), v.into());
        }
        let body = serde_json::json!({
            "status": if ok { "ok" } else { "error" },
            "checks": checks,
            "details": {
                "open_modules": st.symbolicator.open_modules(),
                "open_bytes": st.symbolicator.open_bytes(),
            },
        });
        (ok, py_json(&body))
    })
    .await;
    match r {
        Ok((ok, body)) => respond(if ok { 200 } else { 500 }, JSON, body),
        Err(_) => respond(500, TEXT, "Internal Server Error"),
    }
}

/// `/__version__` (Dockerflow).
fn version() -> Resp {
    let body = serde_json::json!({
        "name": "tecken",
        "version": env!("CARGO_PKG_VERSION"),
        "source": env!("CARGO_PKG_REPOSITORY"),
        "commit": option_env!("TECKEN_COMMIT").unwrap_or(""),
    });
    respond(200, JSON, py_json(&body))
}
