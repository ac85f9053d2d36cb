//! `Symbolicator`: Eliot's `/symbolicate/v5` and `/symbolicate/v4`, byte for byte.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Buffer, FromNapiRef};
use napi::{Env, JsUnknown, NapiRaw};
use napi_derive::napi;
use tecken_core::StoreSpec;
use tecken_core::{parse_v4, parse_v5, write_v4, write_v5, V5Options};
use tecken_core::{Result, Symbolicator as CoreSymbolicator, SymbolicatorConfig};

use crate::convert::{self, opt, req};
use crate::error::{from_napi, invalid, to_napi};
use crate::store::SymbolStore;
use crate::work::{block, spawn, Job, Work};

/// Options of `new Symbolicator`.
#[napi(object)]
#[derive(Debug)]
pub struct SymbolicatorOptions {
    /// Where built indexes are kept and shared between processes (default: in memory).
    pub cache_dir: Option<String>,
    /// Bound of the index files in `cacheDir`, in bytes. Default 10 GiB.
    pub max_cache_bytes: Option<f64>,
    /// Bound of the open indexes in memory, in bytes. Default 4 GiB.
    pub max_open_bytes: Option<f64>,
    /// How long "not found" is remembered, in milliseconds (0: never). Default 300 000.
    pub negative_ttl_ms: Option<f64>,
    /// Most "not found" entries remembered. Default 100 000.
    pub max_negative_entries: Option<u32>,
    /// Most jobs in one v5 request (Eliot: 10).
    pub max_jobs: Option<u32>,
    /// Largest request body accepted, in bytes (413 above). Default 10 MiB.
    pub max_body_bytes: Option<f64>,
    /// Most frames over all jobs (413 above). Default 250 000.
    pub max_frames: Option<u32>,
    /// Most memory map entries over all jobs (413 above). Default 10 000.
    pub max_modules: Option<u32>,
}

/// Options of one `symbolicateV5` call.
#[napi(object)]
#[derive(Debug)]
pub struct SymbolicateOptions {
    /// Add Eliot's `debug` block (timings, cache hits) to the response, as Eliot does for
    /// a request with a `Debug` header.
    pub debug: Option<bool>,
}

/// A complete HTTP answer: the status (200, 400, 413) and the exact body bytes Eliot
/// sends. The core's `ApiResponse`.
#[napi(object)]
pub struct ApiResponse {
    pub status: u32,
    pub body: Buffer,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn api_response(_env: Env, r: tecken_core::ApiResponse) -> napi::Result<ApiResponse> {
    Ok(ApiResponse {
        status: u32::from(r.status),
        body: r.body.into(),
    })
}

/// Answers v5/v4 symbolication requests from symbol sources, building indexes on first
/// use. Share one between all requests: it is safe to call concurrently.
#[napi]
#[derive(Debug)]
pub struct Symbolicator {
    inner: Option<Arc<CoreSymbolicator>>,
    opts: V5Options,
}

/// One source: a `SymbolStore`, or a spec string read as the core's `StoreSpec` reads it
/// (and the Python binding and the CLI): `s3://bucket/prefix`, an `http(s)://` Tecken
/// URL, or a directory (a store when it has `v1/`, otherwise the plain layout
/// `{debug_file}/{debug_id}/{sym_file}`; a missing directory is an error).
fn source(env: Env, v: JsUnknown) -> Result<tecken_core::SymbolStore> {
    if SymbolStore::instance_of(env, &v).map_err(from_napi)? {
        // SAFETY: `v` is a live value of this env, and an instance of `SymbolStore` (just
        // checked), which is what `from_napi_ref` requires.
        let store = unsafe { SymbolStore::from_napi_ref(env.raw(), v.raw()) }.map_err(from_napi)?;
        return Ok((*store.inner).clone());
    }
    let spec: String = req(env, Some(v), "source")
        .map_err(|_| invalid("source must be a SymbolStore or a source spec string"))?;
    StoreSpec::parse(&spec)?.symbol_store()
}

pub(crate) fn sources(env: Env, v: Option<JsUnknown>) -> Result<Vec<tecken_core::SymbolStore>> {
    let Some(v) = v else {
        return Err(invalid("source is required"));
    };
    if !v.is_array().map_err(from_napi)? {
        return Ok(vec![source(env, v)?]);
    }
    let items: Vec<JsUnknown> = req(env, Some(v), "source")?;
    items.into_iter().map(|i| source(env, i)).collect()
}

fn config(o: Option<SymbolicatorOptions>) -> (SymbolicatorConfig, V5Options) {
    let (mut c, mut v) = (SymbolicatorConfig::default(), V5Options::default());
    if let Some(o) = o {
        c.cache_dir = o.cache_dir.map(Into::into);
        c.max_cache_bytes = o.max_cache_bytes.map(|n| n as u64).or(c.max_cache_bytes);
        c.max_open_bytes = o.max_open_bytes.map_or(c.max_open_bytes, |n| n as u64);
        c.negative_ttl = o.negative_ttl_ms.map_or(c.negative_ttl, |ms| {
            Duration::from_millis(ms.max(0.0) as u64)
        });
        c.max_negative_entries = o
            .max_negative_entries
            .map_or(c.max_negative_entries, |n| n as usize);
        v.max_jobs = o.max_jobs.map_or(v.max_jobs, |n| n as usize);
        v.max_body_bytes = o.max_body_bytes.map_or(v.max_body_bytes, |n| n as usize);
        v.max_frames = o.max_frames.map_or(v.max_frames, |n| n as usize);
        v.max_modules = o.max_modules.map_or(v.max_modules, |n| n as usize);
    }
    (c, v)
}

fn buffer(_env: Env, body: Vec<u8>) -> napi::Result<Buffer> {
    Ok(Buffer::from(body))
}

/// Which answer a request job gives.
#[derive(Debug, Clone, Copy)]
enum Api {
    V5,
    V4,
}

impl Symbolicator {
    fn get(&self) -> Result<&Arc<CoreSymbolicator>> {
        self.inner
            .as_ref()
            .ok_or_else(|| invalid("the symbolicator is closed"))
    }

    /// The body, copied here on the JS thread, the symbolicator and the call's options.
    fn args(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> Result<(Vec<u8>, Arc<CoreSymbolicator>, V5Options)> {
        let sym = self.get()?.clone();
        let body = convert::bytes(env, body, "body", true)?;
        let call: Option<SymbolicateOptions> = opt(env, options, "options")?;
        let opts = self
            .opts
            .clone()
            .with_debug(call.and_then(|c| c.debug).unwrap_or(false));
        Ok((body, sym, opts))
    }

    /// The request job: validation (a `TECKEN_BAD_REQUEST` error carrying Eliot's status
    /// and body) and symbolication run in the job.
    fn job(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
        api: Api,
    ) -> Result<Job<Vec<u8>>> {
        let (body, sym, opts) = self.args(env, body, options)?;
        Ok(Box::new(move || match api {
            Api::V5 => parse_v5(&body, &opts).map(|req| write_v5(sym.as_ref(), &req, opts.debug)),
            Api::V4 => parse_v4(&body, &opts).map(|job| write_v4(sym.as_ref(), &job)),
        }))
    }

    /// The request job that answers a refused request with its status instead of failing.
    fn status_job(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
        api: Api,
    ) -> Result<Job<tecken_core::ApiResponse>> {
        let (body, sym, opts) = self.args(env, body, options)?;
        Ok(Box::new(move || {
            Ok(match api {
                Api::V5 => tecken_core::symbolicate_v5(sym.as_ref(), &body, &opts),
                Api::V4 => tecken_core::symbolicate_v4(sym.as_ref(), &body, &opts),
            })
        }))
    }

    fn get_js(&self, env: Env) -> napi::Result<&Arc<CoreSymbolicator>> {
        self.get().map_err(|e| to_napi(env, &e))
    }
}

#[napi]
impl Symbolicator {
    /// A symbolicator over `source`: a `SymbolStore`, a source spec (a directory,
    /// `s3://bucket/prefix`, an `https://` Tecken URL), or an array of them searched in
    /// order.
    #[napi(
        constructor,
        ts_args_type = "source: SymbolStore | string | Array<SymbolStore | string>, options?: SymbolicatorOptions"
    )]
    pub fn new(
        env: Env,
        source: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Self> {
        let built = sources(env, source).and_then(|s| Ok((s, opt(env, options, "options")?)));
        let (sources, o) = built.map_err(|e| to_napi(env, &e))?;
        let (config, opts) = config(o);
        Ok(Symbolicator {
            inner: Some(Arc::new(CoreSymbolicator::new(sources, config))),
            opts,
        })
    }

    /// Answers a `/symbolicate/v5` request body (JSON text, its UTF-8 bytes, or an object
    /// that is `JSON.stringify`-ed first) with the exact bytes Eliot sends. A request that
    /// fails Eliot's validation rejects with `code: 'TECKEN_BAD_REQUEST'`, `status` (400 or
    /// 413) and `body` (Eliot's `{"title": ...}` bytes).
    #[napi(
        ts_args_type = "body: string | Buffer | Uint8Array | V5Request, options?: SymbolicateOptions",
        ts_return_type = "Promise<Buffer>"
    )]
    pub fn symbolicate_v5(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<Vec<u8>, Buffer>> {
        spawn(self.job(env, body, options, Api::V5), buffer)
    }

    /// Blocking `symbolicateV5`.
    #[napi(
        ts_args_type = "body: string | Buffer | Uint8Array | V5Request, options?: SymbolicateOptions"
    )]
    pub fn symbolicate_v5_sync(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Buffer> {
        block(env, self.job(env, body, options, Api::V5), buffer)
    }

    /// Answers a `/symbolicate/v4` request body (one job, Eliot's v4 response).
    #[napi(
        ts_args_type = "body: string | Buffer | Uint8Array | V4Request",
        ts_return_type = "Promise<Buffer>"
    )]
    pub fn symbolicate_v4(
        &self,
        env: Env,
        body: Option<JsUnknown>,
    ) -> AsyncTask<Work<Vec<u8>, Buffer>> {
        spawn(self.job(env, body, None, Api::V4), buffer)
    }

    /// Blocking `symbolicateV4`.
    #[napi(ts_args_type = "body: string | Buffer | Uint8Array | V4Request")]
    pub fn symbolicate_v4_sync(&self, env: Env, body: Option<JsUnknown>) -> napi::Result<Buffer> {
        block(env, self.job(env, body, None, Api::V4), buffer)
    }

    /// `symbolicateV5` that never rejects for a refused request: resolves to
    /// `{ status, body }`, exactly what Eliot answers (200, 400, 413).
    #[napi(
        ts_args_type = "body: string | Buffer | Uint8Array | V5Request, options?: SymbolicateOptions",
        ts_return_type = "Promise<ApiResponse>"
    )]
    pub fn symbolicate_v5_with_status(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<tecken_core::ApiResponse, ApiResponse>> {
        spawn(self.status_job(env, body, options, Api::V5), api_response)
    }

    /// Blocking `symbolicateV5WithStatus`.
    #[napi(
        ts_args_type = "body: string | Buffer | Uint8Array | V5Request, options?: SymbolicateOptions"
    )]
    pub fn symbolicate_v5_with_status_sync(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<ApiResponse> {
        block(
            env,
            self.status_job(env, body, options, Api::V5),
            api_response,
        )
    }

    /// `symbolicateV4` resolving to `{ status, body }` (see `symbolicateV5WithStatus`).
    #[napi(
        ts_args_type = "body: string | Buffer | Uint8Array | V4Request",
        ts_return_type = "Promise<ApiResponse>"
    )]
    pub fn symbolicate_v4_with_status(
        &self,
        env: Env,
        body: Option<JsUnknown>,
    ) -> AsyncTask<Work<tecken_core::ApiResponse, ApiResponse>> {
        spawn(self.status_job(env, body, None, Api::V4), api_response)
    }

    /// Blocking `symbolicateV4WithStatus`.
    #[napi(ts_args_type = "body: string | Buffer | Uint8Array | V4Request")]
    pub fn symbolicate_v4_with_status_sync(
        &self,
        env: Env,
        body: Option<JsUnknown>,
    ) -> napi::Result<ApiResponse> {
        block(env, self.status_job(env, body, None, Api::V4), api_response)
    }

    /// Forgets that a module was not found, so the next request looks for it again.
    #[napi]
    pub fn forget_missing(
        &self,
        env: Env,
        debug_file: String,
        debug_id: String,
    ) -> napi::Result<()> {
        self.get_js(env)?.forget_missing(&debug_file, &debug_id);
        Ok(())
    }

    /// Forgets the "not found" entries of every module an upload stored: pass the result of
    /// `SymbolStore.uploadArchive` after uploading into a store this symbolicator reads.
    #[napi]
    pub fn forget_uploaded(
        &self,
        env: Env,
        result: crate::upload::UploadResult,
    ) -> napi::Result<()> {
        self.get_js(env)?
            .forget_uploaded_keys(result.symbols.iter().map(|s| s.key.as_str()));
        Ok(())
    }

    /// Modules currently open in memory.
    #[napi(getter)]
    pub fn open_modules(&self, env: Env) -> napi::Result<u32> {
        Ok(self.get_js(env)?.open_modules() as u32)
    }

    /// Bytes of the indexes currently open in memory.
    #[napi(getter)]
    pub fn open_bytes(&self, env: Env) -> napi::Result<f64> {
        Ok(self.get_js(env)?.open_bytes() as f64)
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// Releases the open indexes now (once running requests finish) instead of when the
    /// symbolicator is garbage-collected. Later calls throw `TECKEN_INVALID_INPUT`.
    #[napi]
    pub fn close(&mut self) {
        self.inner = None;
    }
}
