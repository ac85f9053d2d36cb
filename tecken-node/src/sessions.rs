//! `UploadSessions`: Tecken's upload API v2 (one resumable upload session per file) for a
//! Node server: `start` answers `POST /upload/v2/`, `putChunk` one `PUT` of a chunk. The
//! rules, the sessions and the storing are the core's (`tecken_core::UploadSessions`).

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, FromNapiRef};
use napi::{Env, JsUnknown, NapiRaw};
use napi_derive::napi;
use tecken_core::{
    ChunkOutcome, FileAction, FileSpec as CoreSpec, PlannedUpload as CorePlanned, SessionLimits,
    UploadOptions, UploadSessions as CoreSessions,
};

use crate::convert::{bytes, num, opt, req};
use crate::error::{from_napi, invalid, to_napi};
use crate::store::SymbolStore;
use crate::upload::UploadResult;
use crate::work::{spawn, Work};

/// Limits of an `UploadSessions` directory.
#[napi(object, object_to_js = false)]
#[derive(Debug)]
pub struct UploadSessionsOptions {
    /// Files one `start` may name. Default 1000.
    pub max_files: Option<u32>,
    /// Sessions open at once. Default 10000.
    pub max_open: Option<u32>,
    /// Milliseconds a session (and the record of a finished one) is kept. Default one
    /// day.
    pub ttl_ms: Option<f64>,
}

/// Options of `start` and `putChunk`.
#[napi(object, object_to_js = false)]
#[derive(Debug)]
pub struct SessionUploadOptions {
    /// Store into the Try area (`try/v1/`). Only read by `start`.
    #[napi(js_name = "try")]
    pub try_symbols: Option<bool>,
    /// Largest declared file size in bytes. Default: the core's limit of one archive
    /// member.
    pub max_file_size: Option<f64>,
}

/// One file of a `POST /upload/v2/` body, with the wire format's field names.
#[napi(object, object_to_js = false)]
#[derive(Debug)]
pub struct FileSpec {
    /// `{debug_file}/{debug_id}/{file}`.
    pub key: String,
    /// Size in bytes.
    pub size: f64,
    /// MD5 of the bytes, hex.
    #[napi(js_name = "md5_hash")]
    pub md5_hash: String,
}

/// What to do with one file.
#[napi(object)]
#[derive(Debug)]
pub struct UploadAction {
    /// `'upload'`, `'skip'` or `'error'`.
    #[napi(ts_type = "'upload' | 'skip' | 'error'")]
    pub r#type: String,
    /// For `'upload'`: the session id, the last part of its URL.
    pub session: Option<String>,
    /// For `'error'`: Tecken's message.
    pub msg: Option<String>,
}

/// A file of the request and its action, in request order.
#[napi(object)]
#[derive(Debug)]
pub struct PlannedUpload {
    /// The key as sent.
    pub key: String,
    pub action: UploadAction,
}

/// A file whose upload finished.
#[napi(object)]
#[derive(Debug)]
pub struct CompletedUpload {
    /// The key as sent.
    pub key: String,
    /// Where it is stored (`v1/...`, `try/v1/...`).
    pub storage_key: String,
    pub size: f64,
    /// MD5, lower-case hex.
    pub md5: String,
    /// MD5 as Google Cloud Storage reports it (`md5Hash`: base64).
    pub md5_base64: String,
    /// Stored already with the same size and MD5: nothing was written.
    pub skipped: bool,
    pub try_symbols: bool,
}

/// What one chunk did: incomplete (answer 308 with `Range: bytes=0-{received - 1}`), or
/// complete with the file (answer 200 with the object).
#[napi(object)]
#[derive(Debug)]
pub struct ChunkResult {
    pub complete: bool,
    /// Bytes stored so far.
    pub received: f64,
    pub file: Option<CompletedUpload>,
    /// The upload report; `null` when this repeats a finished session's last chunk.
    pub result: Option<UploadResult>,
}

/// A directory of upload sessions, shared by processes.
#[napi]
#[derive(Debug)]
pub struct UploadSessions {
    inner: Arc<CoreSessions>,
}

/// The `SymbolStore` argument.
fn store_arg(env: Env, v: Option<JsUnknown>) -> tecken_core::Result<tecken_core::SymbolStore> {
    let v = v.ok_or_else(|| invalid("store is required"))?;
    if !SymbolStore::instance_of(env, &v).map_err(from_napi)? {
        return Err(invalid("store must be a SymbolStore"));
    }
    // SAFETY: `v` is a live value of this env and an instance of `SymbolStore` (checked).
    let store = unsafe { SymbolStore::from_napi_ref(env.raw(), v.raw()) }.map_err(from_napi)?;
    Ok((*store.inner).clone())
}

fn upload_options(env: Env, v: Option<JsUnknown>) -> tecken_core::Result<UploadOptions> {
    let o: Option<SessionUploadOptions> = opt(env, v, "options")?;
    let mut opts = UploadOptions::default();
    if let Some(o) = o {
        opts.try_symbols = o.try_symbols.unwrap_or(false);
        if let Some(max) = o.max_file_size {
            if !(max.is_finite() && max >= 0.0) {
                return Err(invalid("options.maxFileSize must be a number of bytes"));
            }
            opts.limits.max_member_size = max as u64;
        }
    }
    Ok(opts)
}

fn planned(_env: Env, p: Vec<CorePlanned>) -> napi::Result<Vec<PlannedUpload>> {
    Ok(p.into_iter()
        .map(|p| {
            let (kind, session, msg) = match p.action {
                FileAction::Upload { session } => ("upload", Some(session), None),
                FileAction::Skip => ("skip", None, None),
                FileAction::Error(m) => ("error", None, Some(m)),
            };
            PlannedUpload {
                key: p.key,
                action: UploadAction {
                    r#type: kind.to_owned(),
                    session,
                    msg,
                },
            }
        })
        .collect())
}

fn chunk_result(env: Env, o: ChunkOutcome) -> napi::Result<ChunkResult> {
    Ok(match o {
        ChunkOutcome::Incomplete { received } => ChunkResult {
            complete: false,
            received: num(received),
            file: None,
            result: None,
        },
        ChunkOutcome::Complete { file, result } => ChunkResult {
            complete: true,
            received: num(file.size),
            result: result
                .map(|r| crate::upload::convert(env, *r))
                .transpose()?,
            file: Some(CompletedUpload {
                md5_base64: file.md5_base64(),
                key: file.key,
                storage_key: file.storage_key,
                size: num(file.size),
                md5: file.md5,
                skipped: file.skipped,
                try_symbols: file.try_symbols,
            }),
        },
    })
}

#[napi]
impl UploadSessions {
    /// Sessions in `directory` (created if missing).
    #[napi(
        constructor,
        ts_args_type = "directory: string, options?: UploadSessionsOptions"
    )]
    pub fn new(
        env: Env,
        directory: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Self> {
        let make = || -> tecken_core::Result<CoreSessions> {
            let dir: String = req(env, directory, "directory")?;
            let o: Option<UploadSessionsOptions> = opt(env, options, "options")?;
            let mut limits = SessionLimits::default();
            if let Some(o) = o {
                limits.max_files = o.max_files.map_or(limits.max_files, |n| n as usize);
                limits.max_open = o.max_open.map_or(limits.max_open, |n| n as usize);
                if let Some(t) = o.ttl_ms {
                    if !(t.is_finite() && t >= 0.0) {
                        return Err(invalid("options.ttlMs must be a number >= 0"));
                    }
                    limits.ttl = Duration::from_secs_f64(t / 1000.0);
                }
            }
            CoreSessions::new(dir, limits)
        };
        make()
            .map(|s| UploadSessions { inner: Arc::new(s) })
            .map_err(|e| to_napi(env, &e))
    }

    /// The action for each file of a `POST /upload/v2/` body (`{key, size, md5_hash}`):
    /// `upload` with a session id, `skip` (stored already with the same size and MD5) or
    /// `error` with Tecken's message for an archive member of that name.
    #[napi(
        ts_args_type = "store: SymbolStore, files: FileSpec[], options?: SessionUploadOptions",
        ts_return_type = "Promise<PlannedUpload[]>"
    )]
    pub fn start(
        &self,
        env: Env,
        store: Option<JsUnknown>,
        files: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<Vec<CorePlanned>, Vec<PlannedUpload>>> {
        let sessions = self.inner.clone();
        let job = (|| -> tecken_core::Result<crate::work::Job<Vec<CorePlanned>>> {
            let store = store_arg(env, store)?;
            let files: Vec<FileSpec> = req(env, files, "files")?;
            let specs: Vec<CoreSpec> = files
                .into_iter()
                .map(|f| {
                    if !(f.size.is_finite() && f.size >= 0.0 && f.size.fract() == 0.0) {
                        return Err(invalid(format!("size of {:?} is not a byte count", f.key)));
                    }
                    Ok(CoreSpec {
                        key: f.key,
                        size: f.size as u64,
                        md5_hash: f.md5_hash,
                    })
                })
                .collect::<tecken_core::Result<_>>()?;
            let opts = upload_options(env, options)?;
            Ok(Box::new(move || sessions.start(&store, &specs, &opts)))
        })();
        spawn(job, planned)
    }

    /// One chunk of session `session`: `contentRange` is the request's `Content-Range`
    /// header, `data` its body. Resolves with what is stored so far, or with the stored
    /// file once complete (a repeat of the last chunk answers the same file).
    #[napi(
        ts_args_type = "store: SymbolStore, session: string, contentRange: string, data: Buffer | Uint8Array, options?: SessionUploadOptions",
        ts_return_type = "Promise<ChunkResult>"
    )]
    pub fn put_chunk(
        &self,
        env: Env,
        store: Option<JsUnknown>,
        session: Option<JsUnknown>,
        content_range: Option<JsUnknown>,
        data: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<ChunkOutcome, ChunkResult>> {
        let sessions = self.inner.clone();
        let job = (|| -> tecken_core::Result<crate::work::Job<ChunkOutcome>> {
            let store = store_arg(env, store)?;
            let session: String = req(env, session, "session")?;
            let range: String = req(env, content_range, "contentRange")?;
            let data = bytes(env, data, "data", false)?;
            let opts = upload_options(env, options)?;
            Ok(Box::new(move || {
                sessions.put_chunk(&store, &session, &range, &mut data.as_slice(), &opts)
            }))
        })();
        spawn(job, chunk_result)
    }

    /// The number of open sessions.
    #[napi]
    pub fn open_count(&self, env: Env) -> napi::Result<u32> {
        self.inner
            .open_count()
            .map(|n| n as u32)
            .map_err(|e| to_napi(env, &e))
    }

    /// Removes expired sessions; returns how many.
    #[napi]
    pub fn sweep(&self, env: Env) -> napi::Result<u32> {
        self.inner
            .sweep()
            .map(|n| n as u32)
            .map_err(|e| to_napi(env, &e))
    }
}
