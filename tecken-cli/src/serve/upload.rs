//! `POST /upload/`: Tecken's upload form.
//!
//! Order of checks, as Tecken: the `Auth-Token` header (403 `This requires an Auth-Token to
//! authenticate the request`, `API Token not matched`, `Forbidden` for a token without
//! upload permissions); the body size (413); a multipart form with at least one file (400
//! `Must be multipart form data with at least one file`); then the archive rules of
//! [`tecken_core::upload`] (400 with Tecken's messages, 413 for limits). Success is 201
//! with Tecken's `{"upload": {...}}` plus the keys uploaded, skipped and ignored.
//!
//! The archive's name is the form field's name, as in Tecken (its upload client sends
//! `files={"symbols.zip": fh}`), so a field `myfile.rar` is refused for its extension; a
//! field name without any extension (curl's `-F file=@symbols.zip`) falls back to the
//! part's file name. A `try` field with a value other than empty, `0`, `false` or `no`
//! asks for the Try area; a token with only `try-upload` always uploads there.
//!
//! The body streams from the connection through a bounded channel into a blocking thread
//! that parses the form and writes the file part to a spool file (in `--cache DIR/uploads`
//! or the temp dir), which the core then reads in place, in parallel.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request};
use tecken_core::upload::{upload_archive, ArchiveSource, UploadOptions};

use super::http::{content_length, py_json, rfc3339, tecken_error, Resp, JSON};
use super::multipart::{boundary, Event, Multipart};
use super::state::State;

/// What the form held.
#[derive(Debug, Default)]
struct Form {
    /// Field name and file name of the first file part.
    file: Option<(String, Option<String>)>,
    /// The `try` field.
    try_field: Option<String>,
}

/// An error answer from the spooling thread: status and message.
type Failure = (u16, String);

fn failure(status: u16, msg: &str) -> Failure {
    (status, msg.to_owned())
}

enum Part {
    None,
    File,
    Try(Vec<u8>),
    Skip,
}

/// Handles `/upload/` (any method).
pub async fn handle(state: &Arc<State>, req: Request<Incoming>, idle: Duration) -> Resp {
    if req.method() != Method::POST {
        return tecken_error(
            405,
            &format!(
                "Method Not Allowed ({}): {}",
                req.method(),
                req.uri().path()
            ),
        );
    }
    let Some(token) = req.headers().get("auth-token") else {
        return tecken_error(
            403,
            "This requires an Auth-Token to authenticate the request",
        );
    };
    let Some(grant) = state
        .tokens
        .as_ref()
        .and_then(|t| t.check(token.as_bytes()))
    else {
        return tecken_error(403, "API Token not matched");
    };
    if !grant.perms.upload && !grant.perms.try_upload {
        return tecken_error(403, "Forbidden");
    }
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
    let Some(boundary) = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(boundary)
    else {
        return tecken_error(400, "Must be multipart form data with at least one file");
    };

    // Parse and spool on a blocking thread, fed through a small channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let st = state.clone();
    let worker = tokio::task::spawn_blocking(
        move || -> Result<(Form, tempfile::NamedTempFile), Failure> {
            let mut spool = tempfile::Builder::new()
                .prefix("upload-")
                .suffix(".zip")
                .tempfile_in(&st.spool_dir)
                .map_err(|e| failure(500, &format!("cannot create a spool file: {e}")))?;
            let mut parser = Multipart::new(&boundary);
            let mut form = Form::default();
            let mut part = Part::None;
            let mut io_error = None;
            while let Some(chunk) = rx.blocking_recv() {
                let r = parser.feed(&chunk, &mut |e| {
                    match e {
                        Event::Start { name, filename } => {
                            part = if filename.is_some() && form.file.is_none() {
                                form.file = Some((name, filename));
                                Part::File
                            } else if filename.is_none() && name == "try" {
                                Part::Try(Vec::new())
                            } else {
                                Part::Skip
                            };
                        }
                        Event::Data(d) => match &mut part {
                            Part::File => {
                                if let Err(e) = spool.write_all(d) {
                                    io_error = Some(e.to_string());
                                    return Err("spool write failed".into());
                                }
                            }
                            Part::Try(v) if v.len() < 64 => v.extend_from_slice(d),
                            _ => {}
                        },
                        Event::End => {
                            if let Part::Try(v) = std::mem::replace(&mut part, Part::None) {
                                form.try_field = Some(String::from_utf8_lossy(&v).into_owned());
                            }
                        }
                    }
                    Ok(())
                });
                if let Err(e) = r {
                    return Err(match io_error.take() {
                        Some(io) => failure(500, &format!("cannot write the spool file: {io}")),
                        None => failure(
                            400,
                            &format!("Must be multipart form data with at least one file ({e})"),
                        ),
                    });
                }
            }
            if !parser.is_done() {
                return Err(failure(
                    400,
                    "Must be multipart form data with at least one file (the body ended early)",
                ));
            }
            spool
                .flush()
                .map_err(|e| failure(500, &format!("cannot write the spool file: {e}")))?;
            Ok((form, spool))
        },
    );

    // Pump the body into the worker.
    let mut body = req.into_body();
    let mut received: u64 = 0;
    let pump_error = loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => break Some(tecken_error(408, "Request body timed out")),
            Ok(None) => break None,
            Ok(Some(Err(e))) => {
                break Some(tecken_error(400, &format!("Broken request body: {e}")))
            }
            Ok(Some(Ok(f))) => f,
        };
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            if received > state.max_body {
                break Some(tecken_error(
                    413,
                    &format!("Upload too large: over {} bytes", state.max_body),
                ));
            }
            if tx.send(data).await.is_err() {
                // The worker stopped early (a malformed form); its answer follows.
                break None;
            }
        }
    };
    drop(tx);
    let parsed = worker.await;
    if let Some(resp) = pump_error {
        return resp;
    }
    let (form, spool) = match parsed {
        Ok(Ok(v)) => v,
        Ok(Err((status, msg))) => return tecken_error(status, &msg),
        Err(e) => return tecken_error(500, &format!("upload worker failed: {e}")),
    };
    let Some((field, filename)) = form.file else {
        return tecken_error(400, "Must be multipart form data with at least one file");
    };
    let archive_name = match filename {
        Some(f) if !field.contains('.') && !f.is_empty() => f,
        _ => field,
    };
    let try_asked = form.try_field.as_deref().is_some_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !v.is_empty() && v != "0" && v != "false" && v != "no"
    });
    let try_symbols = try_asked || !grant.perms.upload;
    let opts = UploadOptions {
        try_symbols,
        archive_name: Some(archive_name.clone()),
        ..UploadOptions::default()
    };

    let created = SystemTime::now();
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = upload_archive(&st.store, ArchiveSource::Path(spool.path()), &opts);
        drop(spool);
        if let Ok(res) = &r {
            // Modules that were missing may be here now.
            for s in &res.symbols {
                let parts: Vec<&str> = s.key.rsplitn(3, '/').collect();
                if let [_, id, rest] = parts[..] {
                    let file = rest.rsplit('/').next().unwrap_or(rest);
                    st.symbolicator.forget_missing(file, id);
                    st.hot.forget(file, id);
                }
            }
        }
        r
    })
    .await;
    let res = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return tecken_error(e.http_status(), e.message()),
        Err(e) => return tecken_error(500, &format!("upload failed: {e}")),
    };
    let id = state.next_upload_id.fetch_add(1, Ordering::Relaxed);
    let keys = |v: &[tecken_core::upload::FileReport]| {
        v.iter()
            .map(|f| serde_json::Value::from(f.key.clone()))
            .collect::<Vec<_>>()
    };
    let body = serde_json::json!({
        "upload": {
            "id": id,
            "size": res.archive_size,
            "filename": archive_name,
            "bucket": state.store_name,
            "download_url": null,
            "try_symbols": res.try_symbols,
            "redirect_urls": [],
            "completed_at": rfc3339(SystemTime::now()),
            "created_at": rfc3339(created),
            "user": grant.user,
            "skipped_keys": keys(&res.skipped),
            "uploaded_keys": keys(&res.uploaded),
            "ignored_keys": res.ignored.iter().map(|i| i.member.clone()).collect::<Vec<_>>(),
            "content_hash": res.content_hash,
        }
    });
    super::http::respond(201, JSON, py_json(&body))
}
