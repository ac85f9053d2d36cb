//! `SymbolStore`: Tecken's symbol storage over a local directory, S3 or HTTP.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, JsDate, JsObject, JsUnknown, ValueType};
use napi_derive::napi;
use tecken_core::{
    BodyMode, ChainStore, CsvOptions, Download, DownloadRequest, HttpConfig, HttpStore, LocalStore,
    MissingSymbols, ObjectKey, Result, Storage, StoreOptions, StoreSpec, SymbolStore as CoreStore,
};

use crate::convert::{num, opt, req};
use crate::error::{from_napi, invalid, to_napi};
use crate::work::{block, same, spawn, Job, Work};

/// Settings of `s3://` sources. Unset fields come from the usual AWS chain (`AWS_REGION`,
/// `AWS_ENDPOINT_URL_S3`, `AWS_ACCESS_KEY_ID`, profiles, instance roles).
#[napi(object)]
#[derive(Debug)]
pub struct S3Options {
    /// An S3-compatible server (`http://127.0.0.1:9000`); path-style addressing follows.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub force_path_style: Option<bool>,
    /// Time limit of one attempt of one operation. Default 60 000.
    pub timeout_ms: Option<u32>,
    /// Time limit to connect. Default 5 000.
    pub connect_timeout_ms: Option<u32>,
    /// Attempts per operation, including the first. Default 3.
    pub max_attempts: Option<u32>,
}

/// Settings of `http(s)://` sources (read-only).
#[napi(object)]
#[derive(Debug)]
pub struct HttpOptions {
    /// `'tecken'` (the download API: `https://symbols.mozilla.org/`, the default) or
    /// `'bucket'` (a bucket served over HTTP, keys as stored: `v1/...`).
    #[napi(ts_type = "'tecken' | 'bucket'")]
    pub layout: Option<String>,
    /// Time limit of one attempt. Default 30 000.
    pub timeout_ms: Option<u32>,
    pub connect_timeout_ms: Option<u32>,
    /// Retries of 429, 5xx, timeouts and connection errors. Default 3.
    pub retries: Option<u32>,
    pub user_agent: Option<String>,
}

/// Options of `new SymbolStore`.
#[napi(object)]
#[derive(Debug)]
pub struct SymbolStoreOptions {
    pub s3: Option<S3Options>,
    pub http: Option<HttpOptions>,
    /// Most bytes a stored object may decompress to. Default 8 GiB.
    pub max_object_size: Option<f64>,
    /// Whether a `Symbolicator` reading this store also searches the Try area. Default true.
    pub source_includes_try: Option<bool>,
    /// gzip level of stored `.sym` files (0-9). Default 6.
    pub gzip_level: Option<u32>,
    /// How many missing modules to remember for `missingSymbolsCsv` (0: none). Default
    /// 100 000 (the core's `MissingSymbols::DEFAULT_CAPACITY`).
    pub missing_symbols: Option<u32>,
}

/// Options of `get` and `exists`.
#[napi(object)]
#[derive(Debug)]
pub struct GetOptions {
    /// Also search the Try area (after the regular one), like Tecken's `/try/` URLs.
    #[napi(js_name = "try")]
    pub try_symbols: Option<bool>,
    /// Recorded with a miss in the missing-symbols list (Tecken's `?code_file=`).
    pub code_file: Option<String>,
    /// Recorded with a miss (Tecken's `?code_id=`).
    pub code_id: Option<String>,
}

/// Options of `download`: `GetOptions` and which body to read.
#[napi(object)]
#[derive(Debug)]
pub struct DownloadOptions {
    /// Also search the Try area (after the regular one), like Tecken's `/try/` URLs.
    #[napi(js_name = "try")]
    pub try_symbols: Option<bool>,
    /// Recorded with a miss in the missing-symbols list (Tecken's `?code_file=`).
    pub code_file: Option<String>,
    /// Recorded with a miss (Tecken's `?code_id=`).
    pub code_id: Option<String>,
    /// `'decoded'` (the default), `'stored'` (as stored, with its `contentEncoding`) or
    /// `'none'` (a `HEAD`: nothing read, nothing recorded).
    #[napi(ts_type = "'decoded' | 'stored' | 'none'")]
    pub body: Option<String>,
}

/// What Tecken's download answers: `status` and, for a found file, its key, area, size,
/// headers and body.
#[napi(object)]
pub struct DownloadResult {
    #[napi(ts_type = "'found' | 'redirect' | 'ignored' | 'not_found'")]
    pub status: String,
    /// found: the storage key (`v1/xul.pdb/ID/xul.sym`, `try/v1/...`); redirect: the path
    /// to redirect to (`ssltunnel/ID/ssltunnel.sym`).
    pub key: Option<String>,
    /// Whether the found file is in the Try area.
    #[napi(js_name = "try")]
    pub try_symbols: bool,
    /// The stored size of the found file.
    pub size: Option<f64>,
    pub content_type: Option<String>,
    /// `gzip` for a `.sym` read with `body: 'stored'`.
    pub content_encoding: Option<String>,
    /// The body (absent with `body: 'none'`).
    pub body: Option<Buffer>,
}

impl std::fmt::Debug for DownloadResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadResult")
            .field("status", &self.status)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What the syminfo API knows about a module.
#[napi(object)]
#[derive(Debug)]
pub struct SymInfo {
    pub debug_filename: String,
    pub debug_id: String,
    pub code_file: Option<String>,
    pub code_id: Option<String>,
    pub generator: Option<String>,
    /// The storage key of the `.sym`: `v1/xul.pdb/ID/xul.sym` (`try/v1/...` in Try).
    pub key: String,
    /// Whether the `.sym` is in the Try area.
    #[napi(js_name = "try")]
    pub try_symbols: bool,
}

/// The backend of one source spec, parsed by the core's [`StoreSpec`] (the same rules as
/// the CLI and the Python binding), with this store's per-backend options applied.
fn backend(spec: &str, o: Option<&SymbolStoreOptions>) -> Result<Arc<dyn Storage>> {
    match StoreSpec::parse(spec)? {
        StoreSpec::S3 { bucket, prefix } => {
            s3_backend(bucket, prefix, o.and_then(|o| o.s3.as_ref()))
        }
        StoreSpec::Http(url) => http_backend(url, o.and_then(|o| o.http.as_ref())),
        // A store directory (`v1/...`), created if missing.
        StoreSpec::Dir(dir) => Ok(Arc::new(LocalStore::new(dir)?)),
    }
}

fn http_backend(url: String, h: Option<&HttpOptions>) -> Result<Arc<dyn Storage>> {
    let mut c = HttpConfig::new(&url);
    if let Some(h) = h {
        if let Some(layout) = &h.layout {
            c.layout = layout.parse()?;
        }
        set_ms(&mut c.timeout, h.timeout_ms);
        set_ms(&mut c.connect_timeout, h.connect_timeout_ms);
        c.retries = h.retries.unwrap_or(c.retries);
        if let Some(ua) = &h.user_agent {
            c.user_agent = ua.clone();
        }
    }
    Ok(Arc::new(HttpStore::new(c)?))
}

fn set_ms(d: &mut Duration, ms: Option<u32>) {
    if let Some(ms) = ms {
        *d = Duration::from_millis(u64::from(ms));
    }
}

#[cfg(feature = "s3")]
fn s3_backend(bucket: String, prefix: String, o: Option<&S3Options>) -> Result<Arc<dyn Storage>> {
    use tecken_core::{S3Config, S3Store};
    let mut c = S3Config::new(&bucket);
    c.prefix = prefix;
    if let Some(o) = o {
        c.endpoint_url = o.endpoint_url.clone();
        c.region = o.region.clone();
        c.access_key_id = o.access_key_id.clone();
        c.secret_access_key = o.secret_access_key.clone();
        c.session_token = o.session_token.clone();
        c.force_path_style = o.force_path_style;
        set_ms(&mut c.timeout, o.timeout_ms);
        set_ms(&mut c.connect_timeout, o.connect_timeout_ms);
        c.max_attempts = o.max_attempts.unwrap_or(c.max_attempts);
    }
    Ok(Arc::new(S3Store::new(c)?))
}

#[cfg(not(feature = "s3"))]
fn s3_backend(bucket: String, _prefix: String, _o: Option<&S3Options>) -> Result<Arc<dyn Storage>> {
    Err(invalid(format!(
        "s3://{bucket}: this build of tecken-core has no S3 support (cargo feature `s3`)"
    )))
}

fn core_store(
    env: Env,
    source: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> Result<CoreStore> {
    let o: Option<SymbolStoreOptions> = opt(env, options, "options")?;
    let specs: Vec<String> = match source
        .as_ref()
        .map(|s| s.is_array())
        .transpose()
        .map_err(from_napi)?
    {
        Some(true) => req(env, source, "source")?,
        _ => vec![req(env, source, "source")?],
    };
    let mut members = specs
        .iter()
        .map(|s| backend(s, o.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    let storage: Arc<dyn Storage> = match members.len() {
        0 => return Err(invalid("source: at least one source is needed")),
        1 => members.remove(0),
        _ => Arc::new(ChainStore::new(members)),
    };
    let mut so = StoreOptions::default();
    let mut missing = MissingSymbols::DEFAULT_CAPACITY;
    if let Some(o) = &o {
        so.max_object_size = o.max_object_size.map_or(so.max_object_size, |n| n as u64);
        so.source_includes_try = o.source_includes_try.unwrap_or(so.source_includes_try);
        so.gzip_level = o.gzip_level.unwrap_or(so.gzip_level).min(9);
        missing = o.missing_symbols.map_or(missing, |n| n as usize);
    }
    let store = CoreStore::from_arc(storage).with_options(so);
    Ok(match missing {
        0 => store,
        n => store.with_missing_symbols(Arc::new(MissingSymbols::new(n))),
    })
}

/// A Tecken symbol store: `v1/{debug_file}/{DEBUG_ID}/{file}` (and `try/v1/...`) in a local
/// directory, an S3 bucket, or behind a Tecken-style HTTP server (read-only); or several of
/// them searched in order (pass an array). Safe to share between concurrent calls.
#[napi]
#[derive(Debug)]
pub struct SymbolStore {
    pub(crate) inner: Arc<CoreStore>,
}

type Key = (ObjectKey, Option<GetOptions>);

fn key_args(
    env: Env,
    debug_file: Option<JsUnknown>,
    debug_id: Option<JsUnknown>,
    file: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> Result<Key> {
    let debug_file: String = req(env, debug_file, "debugFile")?;
    let debug_id: String = req(env, debug_id, "debugId")?;
    let key = match opt::<String>(env, file, "file")? {
        Some(f) => ObjectKey::new(&debug_file, &debug_id, &f)?,
        None => ObjectKey::for_module(&debug_file, &debug_id)?,
    };
    Ok((key, opt(env, options, "options")?))
}

fn get_job(store: &Arc<CoreStore>, args: Result<Key>) -> Result<Job<Option<Vec<u8>>>> {
    let (key, o) = args?;
    let store = store.clone();
    Ok(Box::new(move || {
        let o = o.unwrap_or(GetOptions {
            try_symbols: None,
            code_file: None,
            code_id: None,
        });
        let req = DownloadRequest {
            try_symbols: o.try_symbols.unwrap_or(false),
            code_file: o.code_file,
            code_id: o.code_id,
            body: BodyMode::Decoded,
            ..DownloadRequest::new(key.debug_file(), key.debug_id(), key.file())
        };
        match store.download(&req)? {
            Download::Found(f) => Ok(f.body),
            // A code file and id: Tecken answers 302 to the debug file and id's key.
            Download::Redirect(to) => store.get(&to, req.try_symbols),
            Download::Ignored | Download::NotFound => Ok(None),
        }
    }))
}

fn exists_job(store: &Arc<CoreStore>, args: Result<Key>) -> Result<Job<bool>> {
    let (key, o) = args?;
    let store = store.clone();
    let try_symbols = o.and_then(|o| o.try_symbols).unwrap_or(false);
    Ok(Box::new(move || store.exists(&key, try_symbols)))
}

fn download_job(
    env: Env,
    store: &Arc<CoreStore>,
    args: [Option<JsUnknown>; 3],
    options: Option<JsUnknown>,
) -> Result<Job<Download>> {
    let [debug_file, debug_id, file] = args;
    let debug_file: String = req(env, debug_file, "debugFile")?;
    let debug_id: String = req(env, debug_id, "debugId")?;
    let file: String = req(env, file, "file")?;
    let o: Option<DownloadOptions> = opt(env, options, "options")?;
    let mut req = DownloadRequest::new(&debug_file, &debug_id, &file);
    if let Some(o) = o {
        req.try_symbols = o.try_symbols.unwrap_or(false);
        req.code_file = o.code_file;
        req.code_id = o.code_id;
        if let Some(body) = &o.body {
            req.body = body.parse()?;
        }
    }
    let store = store.clone();
    Ok(Box::new(move || store.download(&req)))
}

fn download_result(_env: Env, d: Download) -> napi::Result<DownloadResult> {
    let s = d.summary();
    Ok(DownloadResult {
        status: s.status.to_owned(),
        key: s.key,
        try_symbols: s.try_symbols,
        size: s.size.map(num),
        content_type: s.content_type,
        content_encoding: s.content_encoding,
        body: match d {
            Download::Found(f) => f.body.map(Buffer::from),
            _ => None,
        },
    })
}

fn syminfo_job(
    env: Env,
    store: &Arc<CoreStore>,
    file: Option<JsUnknown>,
    id: Option<JsUnknown>,
) -> Result<Job<Option<SymInfo>>> {
    let file: String = req(env, file, "file")?;
    let id: String = req(env, id, "id")?;
    let store = store.clone();
    Ok(Box::new(move || {
        Ok(store.syminfo(&file, &id)?.map(|s| SymInfo {
            key: s.storage_key(),
            try_symbols: s.is_try(),
            debug_filename: s.debug_filename,
            debug_id: s.debug_id,
            code_file: s.code_file,
            code_id: s.code_id,
            generator: s.generator,
        }))
    }))
}

fn buffer(_env: Env, b: Option<Vec<u8>>) -> napi::Result<Option<Buffer>> {
    Ok(b.map(Buffer::from))
}

/// `since` as a `Date` or milliseconds since the epoch.
fn since(env: Env, options: &JsObject) -> Result<Option<SystemTime>> {
    let v: JsUnknown = options.get_named_property("since").map_err(from_napi)?;
    let ms = match v.get_type().map_err(from_napi)? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Number => req::<f64>(env, Some(v), "options.since")?,
        ValueType::Object if v.is_date().map_err(from_napi)? => {
            // SAFETY: checked to be a Date.
            let d: JsDate = unsafe { v.cast() };
            d.value_of().map_err(from_napi)?
        }
        _ => {
            return Err(invalid(
                "options.since must be a Date or a number of milliseconds",
            ))
        }
    };
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid("options.since must be a valid date after 1970"));
    }
    Ok(Some(UNIX_EPOCH + Duration::from_millis(ms as u64)))
}

#[napi]
impl SymbolStore {
    /// A store over `source`: `'s3://bucket/prefix'`, `'https://symbols.example.com/'`
    /// (read-only), `'file:///srv/symbols'` or a directory path (created if missing); an
    /// array searches several in order and writes to the first writable one. Nothing is
    /// contacted until first use.
    #[napi(
        constructor,
        ts_args_type = "source: string | string[], options?: SymbolStoreOptions"
    )]
    pub fn new(
        env: Env,
        source: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Self> {
        let inner = core_store(env, source, options).map_err(|e| to_napi(env, &e))?;
        Ok(SymbolStore {
            inner: Arc::new(inner),
        })
    }

    /// What the store reads, for logs (`s3://bucket/prefix`, `local:/srv/symbols`).
    #[napi(getter)]
    pub fn description(&self) -> String {
        self.inner.storage().describe()
    }

    /// The decompressed bytes of `debugFile/debugId/file` (`file` defaults to the module's
    /// `.sym`: `xul.pdb` -> `xul.sym`), or `null`. Tecken's download rules apply: files
    /// outside Tecken's allow-list are `null` without a lookup, a code file and code id
    /// find the module's file, a miss is recorded for `missingSymbolsCsv`.
    #[napi(
        ts_args_type = "debugFile: string, debugId: string, file?: string | null, options?: GetOptions",
        ts_return_type = "Promise<Buffer | null>"
    )]
    pub fn get(
        &self,
        env: Env,
        debug_file: Option<JsUnknown>,
        debug_id: Option<JsUnknown>,
        file: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<Option<Vec<u8>>, Option<Buffer>>> {
        spawn(
            get_job(
                &self.inner,
                key_args(env, debug_file, debug_id, file, options),
            ),
            buffer,
        )
    }

    /// Blocking `get`.
    #[napi(
        ts_args_type = "debugFile: string, debugId: string, file?: string | null, options?: GetOptions"
    )]
    pub fn get_sync(
        &self,
        env: Env,
        debug_file: Option<JsUnknown>,
        debug_id: Option<JsUnknown>,
        file: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<Option<Buffer>> {
        block(
            env,
            get_job(
                &self.inner,
                key_args(env, debug_file, debug_id, file, options),
            ),
            buffer,
        )
    }

    /// Whether `debugFile/debugId/file` is stored (regular area, then Try with `try`).
    #[napi(
        ts_args_type = "debugFile: string, debugId: string, file?: string | null, options?: GetOptions",
        ts_return_type = "Promise<boolean>"
    )]
    pub fn exists(
        &self,
        env: Env,
        debug_file: Option<JsUnknown>,
        debug_id: Option<JsUnknown>,
        file: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<bool, bool>> {
        spawn(
            exists_job(
                &self.inner,
                key_args(env, debug_file, debug_id, file, options),
            ),
            same,
        )
    }

    /// Blocking `exists`.
    #[napi(
        ts_args_type = "debugFile: string, debugId: string, file?: string | null, options?: GetOptions"
    )]
    pub fn exists_sync(
        &self,
        env: Env,
        debug_file: Option<JsUnknown>,
        debug_id: Option<JsUnknown>,
        file: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<bool> {
        block(
            env,
            exists_job(
                &self.inner,
                key_args(env, debug_file, debug_id, file, options),
            ),
            same,
        )
    }

    /// Answers Tecken's `GET`/`HEAD /{debugFile}/{debugId}/{file}` with Tecken's rules (the
    /// core's `SymbolStore.download`): the ignore short-cut (`file.ptr`, the all-zero id,
    /// extensions outside the allow-list), invalid characters (`TECKEN_INVALID_INPUT`), the
    /// regular area then Try, then the code-id index; a miss of a `GET` is recorded for
    /// `missingSymbolsCsv`.
    #[napi(
        ts_args_type = "debugFile: string, debugId: string, file: string, options?: DownloadOptions",
        ts_return_type = "Promise<DownloadResult>"
    )]
    pub fn download(
        &self,
        env: Env,
        debug_file: Option<JsUnknown>,
        debug_id: Option<JsUnknown>,
        file: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<Download, DownloadResult>> {
        let args = [debug_file, debug_id, file];
        spawn(
            download_job(env, &self.inner, args, options),
            download_result,
        )
    }

    /// Blocking `download`.
    #[napi(
        ts_args_type = "debugFile: string, debugId: string, file: string, options?: DownloadOptions"
    )]
    pub fn download_sync(
        &self,
        env: Env,
        debug_file: Option<JsUnknown>,
        debug_id: Option<JsUnknown>,
        file: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> napi::Result<DownloadResult> {
        let args = [debug_file, debug_id, file];
        block(
            env,
            download_job(env, &self.inner, args, options),
            download_result,
        )
    }

    /// Tecken's syminfo: `file`/`id` as a code file and id (`xul.dll`, `5D7BD8F4A0A000`),
    /// else as a debug file and id; `null` when neither is known.
    #[napi(
        ts_args_type = "file: string, id: string",
        ts_return_type = "Promise<SymInfo | null>"
    )]
    pub fn syminfo(
        &self,
        env: Env,
        file: Option<JsUnknown>,
        id: Option<JsUnknown>,
    ) -> AsyncTask<Work<Option<SymInfo>, Option<SymInfo>>> {
        spawn(syminfo_job(env, &self.inner, file, id), same)
    }

    /// Blocking `syminfo`.
    #[napi(ts_args_type = "file: string, id: string")]
    pub fn syminfo_sync(
        &self,
        env: Env,
        file: Option<JsUnknown>,
        id: Option<JsUnknown>,
    ) -> napi::Result<Option<SymInfo>> {
        block(env, syminfo_job(env, &self.inner, file, id), same)
    }

    /// Uploads a Tecken symbols archive (a zip of `<module>/<id>/<file>` members, given as a
    /// path or a Buffer) with Tecken's rules. Rejects with `TECKEN_INVALID_INPUT` (bad
    /// archive, Tecken's message) or `TECKEN_LIMIT_EXCEEDED`.
    #[napi(
        ts_args_type = "archive: string | Buffer | Uint8Array, options?: UploadOptions",
        ts_return_type = "Promise<UploadResult>"
    )]
    pub fn upload_archive(
        &self,
        env: Env,
        archive: Option<JsUnknown>,
        options: Option<JsUnknown>,
    ) -> AsyncTask<Work<tecken_core::UploadResult, crate::upload::UploadResult>> {
        spawn(
            crate::upload::job(env, &self.inner, archive, options),
            crate::upload::convert,
        )
    }

    /// The missing symbols recorded by this store (downloads and symbolication that found
    /// nothing) as Tecken's `missingsymbols.csv`: `debug_file,debug_id,code_file,code_id`,
    /// CRLF line ends, by default only `.pdb` modules. In memory: synchronous.
    #[napi(
        ts_args_type = "options?: { since?: Date | number; pdbOnly?: boolean; withCounts?: boolean }"
    )]
    pub fn missing_symbols_csv(
        &self,
        env: Env,
        options: Option<JsUnknown>,
    ) -> napi::Result<String> {
        let run = || -> Result<String> {
            let mut o = CsvOptions::default();
            if let Some(obj) = opt::<JsObject>(env, options, "options")? {
                o.since = since(env, &obj)?;
                let flag = |name: &str| -> Result<Option<bool>> {
                    let v: Option<JsUnknown> = obj.get_named_property(name).map_err(from_napi)?;
                    opt(env, v, name)
                };
                o.pdb_only = flag("pdbOnly")?.unwrap_or(o.pdb_only);
                o.with_counts = flag("withCounts")?.unwrap_or(o.with_counts);
            }
            match self.inner.missing_symbols() {
                Some(m) => m.to_csv(&o),
                // No recorder: an empty export with the same header.
                None => MissingSymbols::new(1).to_csv(&o),
            }
        };
        run().map_err(|e| to_napi(env, &e))
    }
}
