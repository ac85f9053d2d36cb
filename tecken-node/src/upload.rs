//! `SymbolStore.uploadArchive`, with optional per-file progress events.
//!
//! Progress comes from the core's hook (`UploadOptions::progress`), called on the upload's
//! worker threads once per file stored or skipped; each event is queued to the JS callback
//! through a thread-safe function, never blocking the workers.

use std::sync::Arc;

use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsFunction, JsUnknown};
use napi_derive::napi;
use tecken_core::Result;
use tecken_core::SymbolStore as CoreStore;
use tecken_core::{
    upload_archive, ArchiveSource, ProgressFn, UploadOptions as CoreOptions,
    UploadProgress as CoreProgress, UploadResult as CoreResult,
};

use crate::convert::{num, opt, path_or_bytes, PathOrBytes};
use crate::error::from_napi;
use crate::index::SymHeader;

/// One file done by an upload (stored, or skipped because it is already stored), with
/// the totals to show a percentage. Archive members that Tecken ignores make no event.
#[napi(object)]
#[derive(Debug)]
pub struct UploadProgress {
    /// Storage key of the file just done (`v1/xul.pdb/ID/xul.sym`).
    pub key: String,
    /// Whether it was skipped: already stored with the same size and MD5.
    pub skipped: bool,
    /// Files done so far by this upload (stored or skipped).
    pub files: u32,
    /// Files this upload stores or skips in all.
    pub files_total: u32,
    /// Uncompressed bytes of the files done so far.
    pub bytes: f64,
    /// Uncompressed bytes of all the files to store or skip.
    pub bytes_total: f64,
}

impl From<&CoreProgress> for UploadProgress {
    fn from(p: &CoreProgress) -> Self {
        UploadProgress {
            key: p.key.clone(),
            skipped: p.skipped,
            files: p.files_done as u32,
            files_total: p.files_total as u32,
            bytes: num(p.bytes_done),
            bytes_total: num(p.bytes_total),
        }
    }
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
    pub archive_name: Option<String>,
    /// Worker threads storing members. Default: CPUs, at least 4, at most 16.
    pub threads: Option<u32>,
    /// Called (on the JS thread, asynchronously) after each file is stored or skipped.
    #[napi(ts_type = "(progress: UploadProgress) => void")]
    pub on_progress: Option<JsFunction>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("try_symbols", &self.try_symbols)
            .field("archive_name", &self.archive_name)
            .field("threads", &self.threads)
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

type Tsfn = ThreadsafeFunction<UploadProgress, ErrorStrategy::Fatal>;

/// The core's progress hook, forwarding each event to `callback` on the JS thread.
fn progress(callback: &JsFunction) -> Result<ProgressFn> {
    let tsfn: Tsfn = callback
        .create_threadsafe_function(0, |cx: ThreadSafeCallContext<UploadProgress>| {
            Ok(vec![cx.value])
        })
        .map_err(from_napi)?;
    Ok(Arc::new(move |p: &CoreProgress| {
        tsfn.call(p.into(), ThreadsafeFunctionCallMode::NonBlocking);
    }))
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
    let store = store.clone();
    if let Some(u) = o {
        opts.try_symbols = u.try_symbols.unwrap_or(false);
        opts.archive_name = u.archive_name;
        if let Some(t) = u.threads {
            opts.threads = (t as usize).max(1);
        }
        opts.progress = u.on_progress.as_ref().map(progress).transpose()?;
    }
    Ok(Box::new(move || match &archive {
        PathOrBytes::Path(p) => upload_archive(&store, ArchiveSource::Path(p), &opts),
        PathOrBytes::Bytes(b) => upload_archive(&store, ArchiveSource::Bytes(b), &opts),
    }))
}

/// The core's result as the JS object.
pub fn convert(_env: Env, r: CoreResult) -> napi::Result<UploadResult> {
    let file = |f: tecken_core::FileReport| FileReport {
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
