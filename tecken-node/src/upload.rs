//! `SymbolStore.uploadArchive`, with optional per-file progress events.
//!
//! The core's upload has no progress hook, so progress is observed at the storage layer:
//! the store's backend is wrapped in [`Reporting`], which forwards every call and, after
//! each successful `put`, queues an event to the JS callback through a thread-safe
//! function (never blocking the upload's worker threads). Code-id index entries written
//! beside a `.sym` make no event. Files already stored (skipped by
//! Tecken's dedup) are not written, so they make no event. (A progress callback in the
//! core's `UploadOptions` would serve both bindings; see the README.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsFunction, JsUnknown};
use napi_derive::napi;
use tecken_core::keys::Area;
use tecken_core::store::{ObjectMeta, PutObject, Storage, StoredObject, SymbolStore as CoreStore};
use tecken_core::upload::{
    upload_archive, ArchiveSource, UploadOptions as CoreOptions, UploadResult as CoreResult,
};
use tecken_core::Result;

use crate::convert::{num, opt, path_or_bytes, PathOrBytes};
use crate::error::from_napi;
use crate::index::SymHeader;

/// One file written by an upload.
#[napi(object)]
#[derive(Debug)]
pub struct UploadProgress {
    /// Storage key written (`v1/xul.pdb/ID/xul.sym`).
    pub key: String,
    /// Bytes written for it (gzipped for a `.sym`).
    pub stored_size: f64,
    /// Files written so far by this upload.
    pub files: u32,
    /// Bytes written so far by this upload.
    pub bytes: f64,
}

/// A file stored or skipped.
#[napi(object)]
#[derive(Debug)]
pub struct FileReport {
    /// Storage key (`v1/xul.pdb/ID/xul.sym`).
    pub key: String,
    /// Member name in the archive.
    pub member: String,
    /// Uncompressed size.
    pub size: f64,
    /// Stored size (gzipped for a `.sym`).
    pub stored_size: f64,
    pub compressed: bool,
    /// MD5 of the uncompressed file, lower-case hex.
    pub md5: String,
}

/// A member ignored by Tecken's rules (`*-symbols.txt`, `.DS_Store`).
#[napi(object)]
#[derive(Debug)]
pub struct IgnoredFile {
    pub member: String,
    pub size: f64,
}

/// A `.sym` whose MODULE line disagrees with its key.
#[napi(object)]
#[derive(Debug)]
pub struct ModuleMismatch {
    pub key_debug_file: String,
    pub key_debug_id: String,
    pub module_debug_file: String,
    pub module_debug_id: String,
}

/// What an uploaded `.sym` says about itself.
#[napi(object)]
#[derive(Debug)]
pub struct SymFileReport {
    pub key: String,
    pub header: Option<SymHeader>,
    /// Why the header did not parse (the file is stored anyway, as Tecken does).
    pub header_error: Option<String>,
    pub module_mismatch: Option<ModuleMismatch>,
}

/// What `uploadArchive` did.
#[napi(object)]
#[derive(Debug)]
pub struct UploadResult {
    /// Whether the files went to the Try area.
    #[napi(js_name = "try")]
    pub try_symbols: bool,
    pub archive_size: f64,
    /// Tecken's `content_hash` of the archive.
    pub content_hash: String,
    /// Files written, sorted by key.
    pub uploaded: Vec<FileReport>,
    /// Files already stored with the same size and MD5.
    pub skipped: Vec<FileReport>,
    pub ignored: Vec<IgnoredFile>,
    /// One report per `.sym` uploaded or skipped.
    pub symbols: Vec<SymFileReport>,
}

/// Options of `uploadArchive`.
#[napi(object, object_to_js = false)]
pub struct UploadOptions {
    /// Store into the Try area (`try/v1/`): Tecken's `try` form field.
    #[napi(js_name = "try")]
    pub try_symbols: Option<bool>,
    /// The uploaded file's name; when set it must end in `.zip` (Tecken's check).
    pub name: Option<String>,
    /// Worker threads storing members. Default: CPUs, at least 4, at most 16.
    pub threads: Option<u32>,
    /// Called (on the JS thread, asynchronously) after each file is written.
    #[napi(ts_type = "(progress: UploadProgress) => void")]
    pub on_progress: Option<JsFunction>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("try_symbols", &self.try_symbols)
            .field("name", &self.name)
            .field("threads", &self.threads)
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

type Tsfn = ThreadsafeFunction<UploadProgress, ErrorStrategy::Fatal>;

/// A backend that reports each write (see the module docs).
struct Reporting {
    inner: Arc<dyn Storage>,
    tsfn: Tsfn,
    files: AtomicU64,
    bytes: AtomicU64,
}

impl std::fmt::Debug for Reporting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporting")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Storage for Reporting {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        self.inner.head(key)
    }
    fn get(&self, key: &str) -> Result<Option<StoredObject>> {
        self.inner.get(key)
    }
    fn get_prefix(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        self.inner.get_prefix(key, len)
    }
    fn put(&self, key: &str, object: &PutObject<'_>) -> Result<()> {
        self.inner.put(key, object)?;
        // Symbol files only: not the code-id index entries written beside them.
        if !(key.starts_with(Area::Regular.prefix()) || key.starts_with(Area::Try.prefix())) {
            return Ok(());
        }
        let size = object.body.len() as u64;
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.bytes.fetch_add(size, Ordering::Relaxed) + size;
        let event = UploadProgress {
            key: key.to_owned(),
            stored_size: num(size),
            files: files as u32,
            bytes: num(bytes),
        };
        self.tsfn
            .call(event, ThreadsafeFunctionCallMode::NonBlocking);
        Ok(())
    }
    fn is_writable(&self) -> bool {
        self.inner.is_writable()
    }
    fn content_md5(&self, key: &str) -> Result<Option<String>> {
        self.inner.content_md5(key)
    }
    fn list(&self, prefix: &str, visit: &mut dyn FnMut(&str, u64) -> Result<()>) -> Result<()> {
        self.inner.list(prefix, visit)
    }
}

/// `store` with its backend wrapped to call `callback` after each write.
fn reporting(store: &CoreStore, callback: &JsFunction) -> Result<CoreStore> {
    let tsfn: Tsfn = callback
        .create_threadsafe_function(0, |cx: ThreadSafeCallContext<UploadProgress>| {
            Ok(vec![cx.value])
        })
        .map_err(from_napi)?;
    let wrapped = Reporting {
        inner: store.storage().clone(),
        tsfn,
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    };
    let mut out = CoreStore::from_arc(Arc::new(wrapped)).with_options(store.options().clone());
    if let Some(m) = store.missing_symbols() {
        out = out.with_missing_symbols(m.clone());
    }
    Ok(out)
}

/// The upload job: arguments converted here, on the JS thread.
pub fn job(
    env: Env,
    store: &Arc<CoreStore>,
    archive: Option<JsUnknown>,
    options: Option<JsUnknown>,
) -> Result<crate::work::Job<CoreResult>> {
    let archive = path_or_bytes(env, archive, "archive")?;
    let o: Option<UploadOptions> = opt(env, options, "options")?;
    let mut opts = CoreOptions::default();
    let mut store = (**store).clone();
    if let Some(u) = o {
        opts.try_symbols = u.try_symbols.unwrap_or(false);
        opts.archive_name = u.name;
        if let Some(t) = u.threads {
            opts.threads = (t as usize).max(1);
        }
        if let Some(cb) = &u.on_progress {
            store = reporting(&store, cb)?;
        }
    }
    Ok(Box::new(move || match &archive {
        PathOrBytes::Path(p) => upload_archive(&store, ArchiveSource::Path(p), &opts),
        PathOrBytes::Bytes(b) => upload_archive(&store, ArchiveSource::Bytes(b), &opts),
    }))
}

/// The core's result as the JS object.
pub fn convert(_env: Env, r: CoreResult) -> napi::Result<UploadResult> {
    let file = |f: tecken_core::upload::FileReport| FileReport {
        key: f.key,
        member: f.member,
        size: num(f.size),
        stored_size: num(f.stored_size),
        compressed: f.compressed,
        md5: f.md5,
    };
    Ok(UploadResult {
        try_symbols: r.try_symbols,
        archive_size: num(r.archive_size),
        content_hash: r.content_hash,
        uploaded: r.uploaded.into_iter().map(file).collect(),
        skipped: r.skipped.into_iter().map(file).collect(),
        ignored: r
            .ignored
            .into_iter()
            .map(|i| IgnoredFile {
                member: i.member,
                size: num(i.size),
            })
            .collect(),
        symbols: r
            .symbols
            .into_iter()
            .map(|s| SymFileReport {
                key: s.key,
                header: s.header.map(SymHeader::from),
                header_error: s.header_error,
                module_mismatch: s.module_mismatch.map(|m| ModuleMismatch {
                    key_debug_file: m.key_debug_file,
                    key_debug_id: m.key_debug_id,
                    module_debug_file: m.module_debug_file,
                    module_debug_id: m.module_debug_id,
                }),
            })
            .collect(),
    })
}
