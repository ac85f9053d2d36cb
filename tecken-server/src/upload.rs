//! `POST /upload/`: Tecken's upload form.
//!
//! Order of checks, as Tecken: the `Auth-Token` header (403 `This requires an Auth-Token to
//! authenticate the request`, `API Token not matched`, `Forbidden` for a token without
//! upload permissions); the body size (413); a multipart form with at least one file (400
//! `Must be multipart form data with at least one file`); then the archive rules of
//! [`tecken_core::upload`] (400 with Tecken's messages, 413 for limits). Success is 201
//! with Tecken's `{"upload": {...}}` plus the keys uploaded, skipped and ignored.
//!
//! Instead of a file, the form (multipart, or `application/x-www-form-urlencoded` as
//! `curl -d url=...` and Python's `requests.post(url, data=...)` send it) may carry a `url`
//! field: Tecken's upload by download URL. The core checks the URL against
//! `--upload-url-host` and downloads the archive ([`tecken_core::fetch_archive_url`]: its
//! messages and statuses are Tecken's, and are answered as they are); the answer's
//! `download_url` and `redirect_urls` say where it came from. Answers carry `Vary:
//! Auth-Token`, as Tecken's do; `skipped_keys` lists archive member names, as Tecken's.
//!
//! The archive's name is the form field's name, as in Tecken (its upload client sends
//! `files={"symbols.zip": fh}`), so a field `myfile.rar` is refused for its extension; a
//! field name without any extension (curl's `-F file=@symbols.zip`) falls back to the
//! part's file name. A `try` field with a value other than empty, `0`, `false` or `no`
//! asks for the Try area; a token with only `try-upload` always uploads there.
//!
//! At most `--max-uploads` uploads run at once; beyond that the answer is an immediate
//! 503 with `Retry-After` (checked after the token, so only authenticated clients can fill
//! the slots). The form is parsed on the connection's async task as the body comes, and
//! the file part is written in 256 KiB pieces on the blocking pool to a spool file (in
//! `--cache DIR/uploads` or the temp dir; see [`super::spool`]), which the core then reads
//! in place, in parallel: waiting on a slow client holds no thread, so uploads cannot
//! starve downloads, heartbeats or symbolication of the blocking pool. Each piece of the
//! body must come within `--timeout`, and the whole body within `--upload-timeout`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, VARY};
use hyper::{Method, Request};
use tecken_core::{fetch_archive_url, upload_archive, ArchiveSource, UploadOptions};
use tokio::time::Instant;

use super::http::{
    content_length, detailed, next_frame, noted, py_json, query_param, read_body, rfc3339,
    tecken_error, tecken_method_not_allowed, Resp, JSON,
};
use super::multipart::{boundary, Event, Multipart};
use super::routes::Limits;
use super::spool::SpoolFile;
use super::state::State;
use super::tokens::Grant;

/// What the form held.
#[derive(Debug, Default)]
struct Form {
    /// Field name and file name of the first file part.
    file: Option<(String, Option<String>)>,
    /// The `try` field.
    try_field: Option<String>,
    /// The `url` field (upload by download URL).
    url: Option<String>,
}

enum Part {
    None,
    File,
    Field(&'static str, Vec<u8>),
    Skip,
}

/// The longest `try` or `url` field kept.
const MAX_FIELD: usize = 8192;

/// Adds `Vary: Auth-Token`: the answer depends on the token (Tecken sends it).
pub fn vary_auth_token(mut r: Resp) -> Resp {
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("Auth-Token"));
    r
}

/// Tecken's token checks of an API request: a missing header, an unknown token. The
/// error is Tecken's message of the 403 to answer.
pub fn authenticate(state: &State, req: &Request<Incoming>) -> Result<Grant, &'static str> {
    let Some(token) = req.headers().get("auth-token") else {
        return Err("This requires an Auth-Token to authenticate the request");
    };
    state
        .tokens
        .as_ref()
        .and_then(|t| t.check(token.as_bytes()))
        .ok_or("API Token not matched")
}

/// Tecken's checks of an upload request (`/upload/`, `/upload/v2/`): `POST`, a known
/// `Auth-Token`, a token that may upload (to Try at least). The refusal is the answer.
pub fn authorize_upload(state: &State, req: &Request<Incoming>) -> Result<Grant, Box<Resp>> {
    if req.method() != Method::POST {
        return Err(Box::new(tecken_method_not_allowed(req)));
    }
    let grant = authenticate(state, req).map_err(|msg| Box::new(tecken_error(403, msg)))?;
    if !grant.perms.upload && !grant.perms.try_upload {
        return Err(Box::new(tecken_error(403, "Forbidden")));
    }
    Ok(grant)
}

/// Handles `/upload/` (any method).
pub async fn handle(state: &Arc<State>, req: Request<Incoming>, limits: Limits) -> Resp {
    vary_auth_token(handle_upload(state, req, limits).await)
}

async fn handle_upload(state: &Arc<State>, req: Request<Incoming>, limits: Limits) -> Resp {
    let grant = match authorize_upload(state, &req) {
        Ok(g) => g,
        Err(refused) => return *refused,
    };
    let declared = content_length(req.headers());
    if declared.is_some_and(|n| n > state.max_body) {
        return tecken_error(
            413,
            &format!(
                "Upload too large: {} bytes (the limit is {} bytes)",
                declared.unwrap_or(0),
                state.max_body
            ),
        );
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let urlencoded = content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    let boundary = boundary(&content_type);
    if boundary.is_none() && !urlencoded {
        return tecken_error(400, "Must be multipart form data with at least one file");
    }

    // Bounded concurrency: a slow upload holds its permit, never a thread, until its
    // deadline; beyond `--max-uploads` the answer is an immediate 503.
    let Ok(permit) = state.uploads.clone().try_acquire_owned() else {
        let mut r = tecken_error(
            503,
            &format!(
                "Too many uploads in progress (at most {}); try again later",
                state.max_uploads
            ),
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("10"));
        return noted(r, "busy");
    };
    let deadline = Instant::now() + limits.upload_deadline;
    let created = SystemTime::now();
    let (form, spool) = match boundary {
        Some(b) => match spool_form(state, req.into_body(), &b, limits, deadline).await {
            Ok((form, spool)) => (form, Some(spool)),
            Err(resp) => return resp,
        },
        None => {
            let declared = content_length(req.headers());
            let Ok(body) = read_body(
                req.into_body(),
                declared,
                MAX_FIELD * 2,
                limits.body_idle,
                deadline,
            )
            .await
            else {
                return tecken_error(400, "Broken or oversized form");
            };
            let text = String::from_utf8_lossy(&body);
            let form = Form {
                file: None,
                try_field: query_param(Some(&text), "try"),
                url: query_param(Some(&text), "url"),
            };
            (form, None)
        }
    };
    let try_asked = form.try_field.as_deref().is_some_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !v.is_empty() && v != "0" && v != "false" && v != "no"
    });
    let try_symbols = try_asked || !grant.perms.upload;

    // The archive: the file part, else the archive the `url` field points to.
    let (source, archive_name, fetched) = match (form.file, spool, form.url) {
        (Some((field, filename)), Some(spool), _) => {
            let name = match filename {
                Some(f) if !field.contains('.') && !f.is_empty() => f,
                _ => field,
            };
            (Archive::Spool(spool), name, None)
        }
        (None, _, Some(url)) if !url.is_empty() => {
            let opts = state.url_upload.clone();
            let fetch = tokio::task::spawn_blocking(move || fetch_archive_url(&url, &opts));
            match fetch.await {
                // Tecken's messages name the client's URL only: answered as they are.
                Ok(Err(e)) => {
                    return detailed(tecken_error(e.http_status(), e.message()), e.to_string())
                }
                Err(e) => return failed(state, 500, "", &format!("download task failed: {e}")),
                Ok(Ok(f)) => {
                    let name = f.name.clone();
                    let origin = (f.url.clone(), f.redirect_urls.clone());
                    (Archive::Fetched(f), name, Some(origin))
                }
            }
        }
        _ => return tecken_error(400, "Must be multipart form data with at least one file"),
    };
    let opts = UploadOptions {
        try_symbols,
        archive_name: Some(archive_name.clone()),
        ..UploadOptions::default()
    };

    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = upload_archive(&st.store, ArchiveSource::Path(source.path()), &opts);
        drop(source);
        drop(permit);
        if let Ok(res) = &r {
            // Modules that were missing may be here now.
            st.symbolicator.forget_uploaded(res);
        }
        r
    })
    .await;
    let res = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return failed(state, e.http_status(), e.message(), &e.to_string()),
        Err(e) => return failed(state, 500, "", &format!("upload failed: {e}")),
    };
    let id = state.next_upload_id.fetch_add(1, Ordering::Relaxed);
    let keys = |v: &[tecken_core::FileReport]| {
        v.iter()
            .map(|f| serde_json::Value::from(f.key.clone()))
            .collect::<Vec<_>>()
    };
    let (download_url, redirect_urls) = match fetched {
        Some((url, redirects)) => (serde_json::Value::from(url), redirects),
        None => (serde_json::Value::Null, Vec::new()),
    };
    let body = serde_json::json!({
        "upload": {
            "id": id,
            "size": res.archive_size,
            "filename": archive_name,
            "bucket": state.store_public_name,
            "download_url": download_url,
            "try_symbols": res.try_symbols,
            "redirect_urls": redirect_urls,
            "completed_at": rfc3339(SystemTime::now()),
            "created_at": rfc3339(created),
            "user": grant.user,
            // Archive member names, as Tecken lists them.
            "skipped_keys": res.skipped.iter().map(|f| f.member.clone()).collect::<Vec<_>>(),
            "uploaded_keys": keys(&res.uploaded),
            "ignored_keys": res.ignored.iter().map(|i| i.member.clone()).collect::<Vec<_>>(),
            "content_hash": res.content_hash,
        }
    });
    super::http::respond(201, JSON, py_json(&body))
}

/// Where the archive is: the spooled file part, or the download of the `url` field.
enum Archive {
    Spool(SpoolFile),
    Fetched(tecken_core::FetchedArchive),
}

impl Archive {
    fn path(&self) -> &std::path::Path {
        match self {
            Archive::Spool(s) => s.path(),
            Archive::Fetched(f) => f.path(),
        }
    }
}

/// An error answer: a client error's message (server paths replaced), or for a server
/// error a generic one; the full error goes to the log line.
pub(crate) fn failed(state: &State, status: u16, msg: &str, detail: &str) -> Resp {
    let shown = if status >= 500 {
        match status {
            503 => "Storage error; try again later".to_owned(),
            _ => "Internal Server Error".to_owned(),
        }
    } else {
        state.private_paths.redact(msg)
    };
    detailed(tecken_error(status, &shown), detail)
}

/// Reads the form from `body` on this (async) task, writing the file part to a spool
/// file: chunks are written on the blocking pool only once they are here, so waiting on a
/// slow client holds no thread. Each piece of the body must come within the idle timeout,
/// and the whole of it by `deadline`.
async fn spool_form(
    state: &Arc<State>,
    mut body: Incoming,
    boundary: &str,
    limits: Limits,
    deadline: Instant,
) -> Result<(Form, SpoolFile), Resp> {
    let dir = state.spool_dir.clone();
    let spool = tokio::task::spawn_blocking(move || SpoolFile::create(&dir))
        .await
        .map_err(|e| failed(state, 500, "", &format!("spool task failed: {e}")))?
        .map_err(|e| failed(state, 500, "", &format!("cannot create a spool file: {e}")))?;
    let mut spool = Some(spool);
    let mut parser = Multipart::new(boundary);
    let mut form = Form::default();
    let mut part = Part::None;
    let mut pending: Vec<u8> = Vec::new();
    let mut received: u64 = 0;
    loop {
        let frame = match next_frame(&mut body, limits.body_idle, deadline).await {
            Err(()) => {
                return Err(noted(
                    tecken_error(408, "Request body timed out"),
                    "timeout",
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(tecken_error(400, &format!("Broken request body: {e}")))
            }
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received += data.len() as u64;
        if received > state.max_body {
            return Err(tecken_error(
                413,
                &format!("Upload too large: over {} bytes", state.max_body),
            ));
        }
        let r = parser.feed(&data, &mut |e| {
            match e {
                Event::Start { name, filename } => {
                    part = if filename.is_some() && form.file.is_none() {
                        form.file = Some((name, filename));
                        Part::File
                    } else if filename.is_none() && name == "try" {
                        Part::Field("try", Vec::new())
                    } else if filename.is_none() && name == "url" {
                        Part::Field("url", Vec::new())
                    } else {
                        Part::Skip
                    };
                }
                Event::Data(d) => match &mut part {
                    Part::File => pending.extend_from_slice(d),
                    Part::Field(_, v) if v.len() < MAX_FIELD => v.extend_from_slice(d),
                    _ => {}
                },
                Event::End => {
                    if let Part::Field(name, v) = std::mem::replace(&mut part, Part::None) {
                        let value = Some(String::from_utf8_lossy(&v).into_owned());
                        match name {
                            "try" => form.try_field = value,
                            _ => form.url = value,
                        }
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            return Err(tecken_error(
                400,
                &format!("Must be multipart form data with at least one file ({e})"),
            ));
        }
        if pending.len() >= SPOOL_WRITE {
            spool = Some(write_spool(state, spool.take(), std::mem::take(&mut pending)).await?);
        }
    }
    if !parser.is_done() {
        return Err(tecken_error(
            400,
            "Must be multipart form data with at least one file (the body ended early)",
        ));
    }
    let spool = write_spool(state, spool, pending).await?;
    Ok((form, spool))
}

/// Bytes gathered before a spool write.
const SPOOL_WRITE: usize = 256 * 1024;

/// Appends `data` to the spool file on the blocking pool.
async fn write_spool(
    state: &Arc<State>,
    spool: Option<SpoolFile>,
    data: Vec<u8>,
) -> Result<SpoolFile, Resp> {
    let Some(mut spool) = spool else {
        return Err(failed(state, 500, "", "spool file lost"));
    };
    let r = tokio::task::spawn_blocking(move || spool.write_all(&data).map(|()| spool)).await;
    match r {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(failed(
            state,
            500,
            "",
            &format!("cannot write the spool file: {e}"),
        )),
        Err(e) => Err(failed(state, 500, "", &format!("spool task failed: {e}"))),
    }
}
