//! `Symbolicator`: Eliot's `/symbolicate/v5` and `/symbolicate/v4`, byte for byte.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Buffer, FromNapiRef};
use napi::{Env, JsUnknown, NapiRaw};
use napi_derive::napi;
use tecken_core::store::StoreSpec;
use tecken_core::v5::{parse_v4, parse_v5, write_v4, write_v5, V5Options};
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

/// Answers v5/v4 symbolication requests from symbol sources, building indexes on first
/// use. Share one between all requests: it is safe to call concurrently.
#[napi]
#[derive(Debug)]
pub struct Symbolicator {
    inner: Arc<CoreSymbolicator>,
    opts: V5Options,
}

/// One source: a `SymbolStore`, or a spec string read as the core's `StoreSpec` reads it
/// (and the Python binding and the CLI): `s3://bucket/prefix`, an `http(s)://` Tecken
/// URL, or a directory (a store when it has `v1/`, otherwise the plain layout
/// `{debug_file}/{debug_id}/{sym_file}`; a missing directory is an error).
fn source(env: Env, v: JsUnknown) -> Result<tecken_core::store::SymbolStore> {
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

fn sources(env: Env, v: Option<JsUnknown>) -> Result<Vec<tecken_core::store::SymbolStore>> {
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

impl Symbolicator {
    /// The request job: the body is copied here, on the JS thread; validation (a
    /// `TECKEN_BAD_REQUEST` error carrying Eliot's status and body) and symbolication run in
    /// the job.
    fn job(
        &self,
        env: Env,
        body: Option<JsUnknown>,
        options: Option<JsUnknown>,
        v4: bool,
    ) -> Result<Job<Vec<u8>>> {
        let body = convert::bytes(env, body, "body", true)?;
        let call: Option<SymbolicateOptions> = opt(env, options, "options")?;
        let opts = self
            .opts
            .clone()
            .with_debug(call.and_then(|c| c.debug).unwrap_or(false));
        let sym = self.inner.clone();
        Ok(Box::new(move || match v4 {
            false => parse_v5(&body, &opts).map(|req| write_v5(sym.as_ref(), &req, opts.debug)),
            true => parse_v4(&body, &opts).map(|job| write_v4(sym.as_ref(), &job)),
        }))
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
            inner: Arc::new(CoreSymbolicator::new(sources, config)),
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
        spawn(self.job(env, body, options, false), buffer)
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
        block(env, self.job(env, body, options, false), buffer)
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
        spawn(self.job(env, body, None, true), buffer)
    }

    /// Blocking `symbolicateV4`.
    #[napi(ts_args_type = "body: string | Buffer | Uint8Array | V4Request")]
    pub fn symbolicate_v4_sync(&self, env: Env, body: Option<JsUnknown>) -> napi::Result<Buffer> {
        block(env, self.job(env, body, None, true), buffer)
    }

    /// Forgets that a module was not found, so the next request looks for it again.
    #[napi]
    pub fn forget_missing(&self, debug_file: String, debug_id: String) {
        self.inner.forget_missing(&debug_file, &debug_id);
    }

    /// Forgets the "not found" entries of every module an upload stored: pass the result of
    /// `SymbolStore.uploadArchive` after uploading into a store this symbolicator reads.
    #[napi]
    pub fn forget_uploaded(&self, result: crate::upload::UploadResult) {
        self.inner
            .forget_uploaded_keys(result.symbols.iter().map(|s| s.key.as_str()));
    }

    /// Modules currently open in memory.
    #[napi(getter)]
    pub fn open_modules(&self) -> u32 {
        self.inner.open_modules() as u32
    }

    /// Bytes of the indexes currently open in memory.
    #[napi(getter)]
    pub fn open_bytes(&self) -> f64 {
        self.inner.open_bytes() as f64
    }
}
