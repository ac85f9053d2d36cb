//! Tecken's upload API version 2, as Mozilla's `upload-symbols` client speaks it when
//! `/upload/auth_info/` announces version 2 (`--upload-api-version 2`):
//!
//! - `POST /upload/v2/` with `{"files": [{"key", "size", "md5_hash"}, ...]}` and the
//!   `Auth-Token`: Tecken's token checks (403s as `/upload/`), then per file an action
//!   (`upload` with a session URL, `skip`, or `error` with a message) in Tecken's answer
//!   `{"id", "created_at", "user", "try_symbols", "upload_protocol": "gcs-resumable",
//!   "files"}`. A body that is not that JSON is a 400 `{"error"}`; more than
//!   [`tecken_core::SessionLimits::max_files`] files a 413; too many open sessions a 429
//!   with `Retry-After` (the client retries 429).
//! - `PUT /upload/v2/session/{id}` with `Content-Range`, without the token (the URL is the
//!   credential, as a Google Cloud Storage session URL is): the resumable-upload answers
//!   the client expects, `308` with `Range: bytes=0-N` while bytes are missing and `200`
//!   with the object (`name`, `bucket`, `size` as a string, `md5Hash` in base64) once the
//!   file is stored. The body is written to the session on the blocking pool in 256 KiB
//!   pieces as it comes, as `/upload/` spools its archive; ending a chunk (storing the file,
//!   for the last) waits for one of the `--max-uploads` slots (503 with `Retry-After` if
//!   none frees up by `--upload-timeout`, which the client retries).
//!
//! The rules, the sessions and the storing are the core's ([`tecken_core::UploadSessions`]).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request};
use tecken_core::{ChunkOutcome, ChunkWriter, FileAction, FileSpec, UploadOptions};
use tokio::time::Instant;

use super::http::{
    content_length, detailed, empty, next_frame, noted, py_json, read_body, respond, tecken_error,
    BodyError, Resp, JSON,
};
use super::routes::Limits;
use super::state::State;
use super::upload::{authorize_upload, failed};

/// The largest `POST /upload/v2/` body: 1,000 files of long keys fit.
const MAX_START_BODY: usize = 1 << 20;

/// Bytes of a chunk gathered before a write.
const WRITE_PIECE: usize = 256 * 1024;

/// The path prefix of session URLs.
pub const SESSION_PREFIX: &str = "/upload/v2/session/";

/// The options a file of this server is stored with.
fn options(state: &State, try_symbols: bool) -> UploadOptions {
    let mut o = UploadOptions {
        try_symbols,
        ..UploadOptions::default()
    };
    o.limits.max_member_size = o.limits.max_member_size.min(state.max_body);
    o
}

/// `POST /upload/v2/`.
pub async fn start(state: &Arc<State>, req: Request<Incoming>, limits: Limits) -> Resp {
    let grant = match authorize_upload(state, &req) {
        Ok(g) => g,
        Err(refused) => return *refused,
    };
    let deadline = Instant::now() + limits.body_deadline;
    let declared = content_length(req.headers());
    let body = match read_body(
        req.into_body(),
        declared,
        MAX_START_BODY,
        limits.body_idle,
        deadline,
    )
    .await
    {
        Ok(b) => b,
        Err(BodyError::TooLarge(_)) => {
            return tecken_error(
                413,
                &format!("Request body too large (at most {MAX_START_BODY} bytes)"),
            )
        }
        Err(BodyError::Timeout) => {
            return noted(tecken_error(408, "Request body timed out"), "timeout")
        }
        Err(BodyError::Broken) => return tecken_error(400, "Broken request body"),
    };
    let files = serde_json::from_slice::<serde_json::Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|mut v| {
            let files = v
                .get_mut("files")
                .map(serde_json::Value::take)
                .ok_or_else(|| "no \"files\" list".to_owned())?;
            serde_json::from_value::<Vec<FileSpec>>(files).map_err(|e| e.to_string())
        });
    let files = match files {
        Ok(f) => f,
        Err(e) => return tecken_error(400, &format!("Invalid JSON body: {e}")),
    };
    let try_symbols = !grant.perms.upload;
    let st = state.clone();
    let planned = tokio::task::spawn_blocking(move || {
        let opts = options(&st, try_symbols);
        match &st.sessions {
            Some(s) => s.start(&st.store, &files, &opts),
            None => Err(tecken_core::Error::new(
                tecken_core::ErrorKind::Internal,
                "upload sessions are not set up",
            )),
        }
    })
    .await;
    let planned = match planned {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            let mut r = failed(state, e.http_status(), e.message(), &e.to_string());
            if e.http_status() == 429 {
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from_static("10"));
            }
            return r;
        }
        Err(e) => return failed(state, 500, "", &format!("upload task failed: {e}")),
    };
    let files: Vec<serde_json::Value> = planned
        .into_iter()
        .map(|p| {
            let action = match p.action {
                FileAction::Upload { session } => serde_json::json!({
                    "type": "upload",
                    "url": format!("{}{SESSION_PREFIX}{session}", state.public_url),
                    "content_encoding": null,
                }),
                FileAction::Skip => serde_json::json!({ "type": "skip" }),
                FileAction::Error(msg) => serde_json::json!({
                    "type": "error",
                    "msg": state.private_paths.redact(&msg),
                }),
            };
            serde_json::json!({ "key": p.key, "action": action })
        })
        .collect();
    let id = state
        .next_upload_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let body = serde_json::json!({
        "id": id,
        "created_at": created_at,
        "user": grant.user,
        "try_symbols": try_symbols,
        "upload_protocol": "gcs-resumable",
        "files": files,
    });
    respond(200, JSON, py_json(&body))
}

/// `PUT /upload/v2/session/{id}`.
pub async fn chunk(state: &Arc<State>, req: Request<Incoming>, id: &str, limits: Limits) -> Resp {
    if req.method() != Method::PUT {
        let mut r = tecken_error(405, &format!("Method {} not allowed", req.method()));
        r.headers_mut()
            .insert("allow", HeaderValue::from_static("PUT"));
        return r;
    }
    let Some(range) = req
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return tecken_error(400, "A chunk needs a Content-Range header");
    };
    let deadline = Instant::now() + limits.upload_deadline;
    let (st, sid) = (state.clone(), id.to_owned());
    let begun = tokio::task::spawn_blocking(move || match &st.sessions {
        Some(s) => s.begin(&sid, &range),
        // Uploads are off (no `--tokens`): no session exists.
        None => Err(tecken_core::Error::new(
            tecken_core::ErrorKind::NotFound,
            "No such upload session",
        )),
    })
    .await;
    let mut writer = match begun {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => return failed(state, e.http_status(), e.message(), &e.to_string()),
        Err(e) => return failed(state, 500, "", &format!("upload task failed: {e}")),
    };
    let mut body = req.into_body();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let frame = match next_frame(&mut body, limits.body_idle, deadline).await {
            Err(()) => {
                return noted(tecken_error(408, "Request body timed out"), "timeout");
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return tecken_error(400, &format!("Broken request body: {e}")),
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        if pending.len() >= WRITE_PIECE {
            writer = match write(state, writer, std::mem::take(&mut pending)).await {
                Ok(w) => w,
                Err(r) => return r,
            };
        }
    }
    writer = match write(state, writer, pending).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    // Storing (the last chunk: an MD5 pass, gzip, the write) is an upload's heavy part:
    // it waits for one of the `--max-uploads` slots, which receiving a chunk's bytes does
    // not take (the upload client sends up to 16 files at once and gives up on a file
    // after 10 refusals in a row).
    let Ok(Ok(permit)) =
        tokio::time::timeout_at(deadline, state.uploads.clone().acquire_owned()).await
    else {
        let mut r = tecken_error(503, "Too many uploads in progress; try again later");
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("10"));
        return noted(r, "busy");
    };
    let st = state.clone();
    let finished = tokio::task::spawn_blocking(move || {
        let r = writer.finish(&st.store, &options(&st, false));
        drop(permit);
        if let Ok(ChunkOutcome::Complete {
            file,
            result: Some(_),
        }) = &r
        {
            // A module that was missing may be here now.
            st.symbolicator
                .forget_uploaded_keys([file.storage_key.as_str()]);
        }
        r
    })
    .await;
    match finished {
        Ok(Ok(ChunkOutcome::Incomplete { received })) => {
            let mut r = empty(308);
            if received > 0 {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes=0-{}", received - 1)) {
                    r.headers_mut().insert("range", v);
                }
            }
            r
        }
        Ok(Ok(ChunkOutcome::Complete { file, .. })) => {
            let body = serde_json::json!({
                "kind": "storage#object",
                "name": file.storage_key,
                "bucket": state.store_public_name,
                "size": file.size.to_string(),
                "md5Hash": file.md5_base64(),
            });
            respond(200, JSON, py_json(&body))
        }
        Ok(Err(e)) => failed(state, e.http_status(), e.message(), &e.to_string()),
        Err(e) => failed(state, 500, "", &format!("upload task failed: {e}")),
    }
}

/// Writes `data` to the session on the blocking pool.
async fn write(state: &Arc<State>, mut w: ChunkWriter, data: Vec<u8>) -> Result<ChunkWriter, Resp> {
    if data.is_empty() {
        return Ok(w);
    }
    let r = tokio::task::spawn_blocking(move || w.write(&data).map(|()| w)).await;
    match r {
        Ok(Ok(w)) => Ok(w),
        Ok(Err(e)) => Err(failed(state, e.http_status(), e.message(), &e.to_string())),
        Err(e) => Err(detailed(
            tecken_error(500, "Internal Server Error"),
            format!("upload task failed: {e}"),
        )),
    }
}
