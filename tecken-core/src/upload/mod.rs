//! Uploading a Tecken symbols archive (a zip of `<module>/<hex>/<file>` members).
//!
//! [`upload_archive`] applies Tecken's rules with Tecken's error messages, closes the holes
//! Tecken leaves open, and stores the members in parallel:
//!
//! 1. The archive: not a zip -> `File is not a zip file`; a name not ending in `.zip` ->
//!    `Unrecognized archive file extension ".rar"`.
//! 2. Limits, checked on the declared sizes before anything is decompressed, and again on
//!    the bytes actually produced: member count (read from the end record before the
//!    directory is parsed), total uncompressed size, size of one member, compression ratio
//!    of every member of 64 KiB or more, and the compression ratio of the whole archive
//!    (so many small members cannot add up to a bomb). Errors of kind
//!    [`ErrorKind::LimitExceeded`]. Members whose data overlap (many directory entries
//!    pointing at one deflate stream) are refused when the directory is read.
//! 3. Member safety (Tecken relies on Python's `extractall` here): absolute paths, `.` and
//!    `..` components, backslashes, symlinks, encrypted members and name components longer
//!    than 255 bytes (no file system stores them) are rejected.
//! 4. Tecken's listing rules: duplicate names with different sizes, the disallowed snippets
//!    (`qcom/proprietary`), the `<module>/<hex>/<file>` or `<name>-symbols.txt` pattern
//!    (with S3's "characters to avoid" refused in names). `*-symbols.txt` and `.DS_Store`
//!    members are ignored.
//! 5. Storage: each member is read once, streaming, into its stored form (gzip plus
//!    `original_size`/`original_md5_hash` for a `.sym`; raw otherwise) by a bounded pool of
//!    threads, and written atomically. A member already stored with the same size and MD5
//!    is skipped (Tecken's dedup; for files stored raw the MD5 is checked too where the
//!    backend knows it, where Tecken compares sizes only). Debug ids are stored upper-case;
//!    two members whose ids differ only in case are one key, refused unless their contents
//!    are the same (size and CRC-32).
//! 6. Each `.sym` header is parsed; a MODULE line that disagrees with the key is reported
//!    ([`SymFileReport::module_mismatch`]), not refused (Tecken's own `sample.zip` has one).
//!    Windows modules get a code-id index entry; a Try upload never replaces an entry that
//!    points to a regular upload (a regular upload replaces a Try one).
//!
//! A failure stops the workers; every object already written is complete, so retrying the
//! same archive skips what was stored and finishes the rest. Bad archive data (a corrupt
//! deflate stream, a wrong CRC-32) is an [`ErrorKind::InvalidInput`] error naming the
//! member; error messages name members and storage keys, never a server's paths.

mod archive;
mod spool;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use md5::{Digest, Md5};
use serde::Serialize;

use self::archive::{is_archive_read_error, Archive, Entry, Source};
use self::spool::Spool;
pub use self::spool::{
    is_spool_file_name, remove_stale_spool_files, SPOOL_FILE_PREFIX, SPOOL_FILE_SUFFIX,
};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{has_invalid_key_chars, is_hex, is_safe_component, py_repr, Area, ObjectKey};
use crate::store::encoding::{hex, Encoder};
use crate::store::{PutObject, SymbolStore};
use crate::sym::{parse_header, SymHeader};

/// How much of a `.sym` is kept to parse its header.
const HEAD_LEN: usize = 256 * 1024;
/// Members smaller than this are exempt from the per-member compression-ratio limit (a
/// 6 KB `.DS_Store` compresses 14:1 and harms no one). What many small members add up to
/// is bounded by the archive-wide ratio limit.
const RATIO_EXEMPT: u64 = 64 << 10;
/// Bytes any archive may decompress to beyond `max_ratio` times its size, so that a tiny
/// archive of small, very compressible files is not refused.
const RATIO_ALLOWANCE: u64 = 1 << 20;

/// Limits no archive can get past.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    /// Largest archive accepted from a reader (it is spooled to a temporary file). Default
    /// 8 GiB.
    pub max_archive_size: u64,
    /// Most entries (files and directories). Default 50,000.
    pub max_members: usize,
    /// Largest total uncompressed size, declared and actual. Default 20 GiB.
    pub max_total_size: u64,
    /// Largest uncompressed member. Default 8 GiB.
    pub max_member_size: u64,
    /// Highest compression ratio (uncompressed / compressed) of a member of 64 KiB or
    /// more, and of the whole archive (its total uncompressed size, declared and actual,
    /// may not exceed this times the archive's size, plus 1 MiB). Default 200 (text `.sym`
    /// files compress 4-10:1; a deflate bomb reaches 1000:1).
    pub max_ratio: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_archive_size: 8 << 30,
            max_members: 50_000,
            max_total_size: 20 << 30,
            max_member_size: 8 << 30,
            max_ratio: 200,
        }
    }
}

/// How far an upload is, passed to [`UploadOptions::progress`] after each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadProgress {
    /// Files stored or skipped so far.
    pub files_done: usize,
    /// Files to store or skip in all (ignored members excluded).
    pub files_total: usize,
    /// Uncompressed bytes of the files done.
    pub bytes_done: u64,
    /// Uncompressed bytes of every file to store.
    pub bytes_total: u64,
    /// The storage key of the file just done.
    pub key: String,
    /// Whether it was skipped (already stored with the same size and MD5).
    pub skipped: bool,
}

/// A progress callback: called from the worker threads, once per file, in completion
/// order. It should be quick; a panic in it fails the upload like any other worker panic.
pub type ProgressFn = std::sync::Arc<dyn Fn(&UploadProgress) + Send + Sync>;

/// Options of [`upload_archive`].
#[derive(Clone)]
pub struct UploadOptions {
    /// Store into the Try area (`try/v1/`). Tecken's `try` form field.
    pub try_symbols: bool,
    /// The uploaded file's name; when set, it must end in `.zip` (Tecken's check).
    pub archive_name: Option<String>,
    /// Strings no member name may contain (Tecken's `DISALLOWED_SYMBOLS_SNIPPETS`).
    /// Default `["qcom/proprietary"]`.
    pub disallowed_snippets: Vec<String>,
    /// Worker threads storing members. Default: the number of CPUs, at least 4, at most 16
    /// (remote stores are latency-bound).
    pub threads: usize,
    /// Bytes of stored forms held in memory at once, across workers (a member larger than
    /// this runs alone). Default 1 GiB.
    pub memory_budget: u64,
    /// The limits.
    pub limits: UploadLimits,
    /// Called after each file is stored or skipped (a progress bar, a log line).
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("try_symbols", &self.try_symbols)
            .field("archive_name", &self.archive_name)
            .field("disallowed_snippets", &self.disallowed_snippets)
            .field("threads", &self.threads)
            .field("memory_budget", &self.memory_budget)
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for UploadOptions {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        UploadOptions {
            try_symbols: false,
            archive_name: None,
            disallowed_snippets: vec!["qcom/proprietary".to_owned()],
            threads: cpus.clamp(4, 16),
            memory_budget: 1 << 30,
            limits: UploadLimits::default(),
            progress: None,
        }
    }
}

/// Where the archive comes from.
pub enum ArchiveSource<'a> {
    /// A zip file on disk (read in place, in parallel).
    Path(&'a Path),
    /// A zip in memory.
    Bytes(&'a [u8]),
    /// Any reader (copied to a temporary file first, up to
    /// [`UploadLimits::max_archive_size`]).
    Reader(&'a mut dyn Read),
}

impl std::fmt::Debug for ArchiveSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArchiveSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
            ArchiveSource::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
            ArchiveSource::Reader(_) => f.write_str("Reader(..)"),
        }
    }
}

/// A member stored or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The storage key (`v1/xul.pdb/ID/xul.sym`).
    pub key: String,
    /// The member's name in the archive.
    pub member: String,
    /// Uncompressed size.
    pub size: u64,
    /// Stored size (gzipped for a `.sym`); for a skipped file, the size already stored.
    pub stored_size: u64,
    /// Whether it is stored gzip-compressed.
    pub compressed: bool,
    /// MD5 of the uncompressed file, lower-case hex.
    pub md5: String,
}

/// A member ignored by rule (`*-symbols.txt`, `.DS_Store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredFile {
    /// The member's name.
    pub member: String,
    /// Its uncompressed size.
    pub size: u64,
}

/// A MODULE line that disagrees with the key the `.sym` is stored under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleMismatch {
    /// Debug file of the key.
    pub key_debug_file: String,
    /// Debug id of the key.
    pub key_debug_id: String,
    /// Debug file of the MODULE line.
    pub module_debug_file: String,
    /// Debug id of the MODULE line (upper-case).
    pub module_debug_id: String,
}

/// What an uploaded (or skipped) `.sym` says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymFileReport {
    /// The storage key.
    pub key: String,
    /// MODULE and INFO data (debug file and id, code file and id, generator), when the
    /// header parses.
    pub header: Option<SymHeader>,
    /// Why the header did not parse (the file is stored anyway, as Tecken does).
    pub header_error: Option<String>,
    /// Set when the MODULE line's debug file or id differs from the key's.
    pub module_mismatch: Option<ModuleMismatch>,
}

/// The result of an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UploadResult {
    /// Whether the files went to the Try area.
    pub try_symbols: bool,
    /// Size of the archive in bytes.
    pub archive_size: u64,
    /// Tecken's `content_hash`: the first 30 hex digits of the MD5 of the sorted
    /// `name:size` lines of every file in the archive.
    pub content_hash: String,
    /// Files written, sorted by key.
    pub uploaded: Vec<FileReport>,
    /// Files already stored with the same size and MD5, sorted by key.
    pub skipped: Vec<FileReport>,
    /// Files ignored by rule, in archive order.
    pub ignored: Vec<IgnoredFile>,
    /// One report per `.sym` uploaded or skipped, sorted by key.
    pub symbols: Vec<SymFileReport>,
}

/// A file to store.
#[derive(Debug)]
struct Planned {
    entry: Entry,
    key: ObjectKey,
}

/// Uploads an archive into `store` (see the [module docs](self)).
pub fn upload_archive(
    store: &SymbolStore,
    source: ArchiveSource<'_>,
    options: &UploadOptions,
) -> Result<UploadResult> {
    if let Some(name) = &options.archive_name {
        if !name.to_ascii_lowercase().ends_with(".zip") {
            let ext = match name.rfind('.') {
                Some(i) if i > 0 && !name[i..].contains('/') => &name[i..],
                _ => "",
            };
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("Unrecognized archive file extension \"{ext}\""),
            ));
        }
    }
    match source {
        ArchiveSource::Bytes(b) => upload_from(store, Source::Mem(b), options),
        ArchiveSource::Path(p) => {
            // The file name only: a server passes its spool file, whose directory is its own
            // business, and the message may reach a client.
            let open_error = |e: std::io::Error| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                // A missing archive is the caller's "not found", as every other open is.
                let kind = if e.kind() == std::io::ErrorKind::NotFound {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::Io
                };
                Error::new(kind, format!("cannot read the archive {name:?}: {e}")).with_source(e)
            };
            let f = File::open(p).map_err(open_error)?;
            let len = f.metadata().map_err(open_error)?.len();
            upload_from(store, Source::File(&f, len), options)
        }
        ArchiveSource::Reader(r) => {
            let spool = Spool::new()?;
            let len = spool.fill(r, options.limits.max_archive_size)?;
            upload_from(store, Source::File(&spool.file, len), options)
        }
    }
}

/// Uploads the zip file at `path`.
pub fn upload_archive_path(
    store: &SymbolStore,
    path: &Path,
    options: &UploadOptions,
) -> Result<UploadResult> {
    upload_archive(store, ArchiveSource::Path(path), options)
}

/// Uploads a zip held in memory.
pub fn upload_archive_bytes(
    store: &SymbolStore,
    bytes: &[u8],
    options: &UploadOptions,
) -> Result<UploadResult> {
    upload_archive(store, ArchiveSource::Bytes(bytes), options)
}

fn upload_from(
    store: &SymbolStore,
    src: Source<'_>,
    options: &UploadOptions,
) -> Result<UploadResult> {
    let archive = Archive::open(src, options.limits.max_members)?;
    let max_total = total_limit(&options.limits, src.len());
    let (planned, ignored, content_hash) = plan(&archive, options, &max_total)?;
    let area = Area::for_upload(options.try_symbols);
    let outcomes = store_members(store, &archive, planned, area, options, max_total)?;
    let mut result = UploadResult {
        try_symbols: options.try_symbols,
        archive_size: src.len(),
        content_hash,
        ignored,
        ..UploadResult::default()
    };
    for o in outcomes {
        if o.skipped {
            result.skipped.push(o.file);
        } else {
            result.uploaded.push(o.file);
        }
        result.symbols.extend(o.sym);
    }
    result.uploaded.sort_by(|a, b| a.key.cmp(&b.key));
    result.skipped.sort_by(|a, b| a.key.cmp(&b.key));
    result.symbols.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(result)
}

/// Whether a member name is unsafe to use as a path: absolute, `.`/`..`, backslashes, NUL,
/// drive letters.
fn is_unsafe_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    name.starts_with('/')
        || name.contains(['\\', '\0'])
        || name.as_bytes().get(1) == Some(&b':')
        || trimmed.split('/').any(|c| c == "." || c == "..")
}

fn is_ignored_member(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with("-symbols.txt")
        || name.rsplit('/').next() == Some(".DS_Store")
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

/// The most bytes an archive of `archive_len` bytes may decompress to: the total limit, or
/// the ratio limit applied to the whole archive, whichever is smaller.
fn total_limit(limits: &UploadLimits, archive_len: u64) -> TotalLimit {
    let by_ratio = archive_len
        .saturating_mul(limits.max_ratio)
        .saturating_add(RATIO_ALLOWANCE);
    if by_ratio < limits.max_total_size {
        TotalLimit {
            bytes: by_ratio,
            why: format!(
                "the archive's compression ratio limit of {} ({} bytes for {archive_len} bytes of archive)",
                limits.max_ratio, by_ratio
            ),
        }
    } else {
        TotalLimit {
            bytes: limits.max_total_size,
            why: format!("the limit of {}", limits.max_total_size),
        }
    }
}

/// The archive-wide limit on decompressed bytes, and how to explain it.
#[derive(Debug, Clone)]
struct TotalLimit {
    bytes: u64,
    why: String,
}

/// The longest name component a file system stores (`NAME_MAX` on Linux and macOS, 255
/// UTF-16 units on Windows).
const NAME_MAX: usize = 255;

/// Checks the listing and decides what to store. Returns the files to store, the
/// ignored ones, and Tecken's content hash.
fn plan(
    archive: &Archive<'_>,
    options: &UploadOptions,
    max_total: &TotalLimit,
) -> Result<(Vec<Planned>, Vec<IgnoredFile>, String)> {
    let limits = &options.limits;
    // Safety first, on every entry (directories too).
    for e in &archive.entries {
        if is_unsafe_name(&e.name) {
            return Err(invalid(format!(
                "Unsafe file name in archive: {} (absolute paths, '.' or '..' components and backslashes are not allowed)",
                py_repr(&e.name)
            )));
        }
        if e.is_symlink() {
            return Err(invalid(format!(
                "Symbolic link in archive: {} (symlinks are not allowed)",
                py_repr(&e.name)
            )));
        }
        if e.is_encrypted() {
            return Err(invalid(format!(
                "Encrypted file in archive: {} (encryption is not supported)",
                py_repr(&e.name)
            )));
        }
        if e.name.split('/').any(|c| c.len() > NAME_MAX) {
            return Err(invalid(format!(
                "File name too long in archive: {} (each part of a name is at most {NAME_MAX} bytes)",
                py_repr(&e.name)
            )));
        }
    }
    // Duplicates (Tecken's rule), keeping the first of equal-size twins.
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    let mut files: Vec<&Entry> = Vec::new();
    for e in &archive.entries {
        match sizes.get(e.name.as_str()) {
            Some(&prev) if prev != e.size => {
                return Err(invalid(format!(
                    "The zipfile buffer contains two files both called {} and they have difference sizes ({} != {})",
                    e.name, e.size, prev
                )));
            }
            Some(_) => {}
            None => {
                sizes.insert(&e.name, e.size);
                if !e.is_dir() {
                    files.push(e);
                }
            }
        }
    }
    // Size limits on declared sizes.
    let mut total: u64 = 0;
    for e in &files {
        if e.size > limits.max_member_size {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "File {} is {} bytes uncompressed, more than the limit of {}",
                    py_repr(&e.name),
                    e.size,
                    limits.max_member_size
                ),
            ));
        }
        if e.size >= RATIO_EXEMPT && e.size / e.compressed_size.max(1) > limits.max_ratio {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "File {} has a compression ratio above the limit of {} ({} bytes from {})",
                    py_repr(&e.name),
                    limits.max_ratio,
                    e.size,
                    e.compressed_size
                ),
            ));
        }
        total = total.saturating_add(e.size);
    }
    if total > max_total.bytes {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "Archive is {total} bytes uncompressed, more than {}",
                max_total.why
            ),
        ));
    }
    // Tecken's listing rules, in archive order.
    for e in &files {
        if let Some(snippet) = options
            .disallowed_snippets
            .iter()
            .find(|s| !s.is_empty() && e.name.contains(s.as_str()))
        {
            return Err(invalid(format!(
                "Content of archive file contains the snippet '{snippet}' which is not allowed"
            )));
        }
        let parts: Vec<&str> = e.name.split('/').collect();
        let ok = match parts.as_slice() {
            [.., last] if *last == ".DS_Store" => true,
            [a, b, c] => {
                is_hex(b)
                    && is_safe_component(a)
                    && is_safe_component(c)
                    && !has_invalid_key_chars(a)
                    && !has_invalid_key_chars(c)
            }
            [one] => one.to_ascii_lowercase().ends_with("-symbols.txt"),
            _ => false,
        };
        if !ok {
            return Err(invalid(format!(
                "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and nothing else. (First unrecognized pattern was {})",
                py_repr(&e.name)
            )));
        }
    }
    // Tecken's content hash over every file.
    let mut listing: Vec<(&str, u64)> = files.iter().map(|e| (e.name.as_str(), e.size)).collect();
    listing.sort();
    let text: Vec<String> = listing.iter().map(|(n, s)| format!("{n}:{s}")).collect();
    let mut content_hash = hex(&Md5::digest(text.join("\n").as_bytes()));
    content_hash.truncate(30);

    let mut planned = Vec::new();
    let mut ignored = Vec::new();
    let mut by_key: HashMap<ObjectKey, &Entry> = HashMap::new();
    for e in files {
        if is_ignored_member(&e.name) {
            ignored.push(IgnoredFile {
                member: e.name.clone(),
                size: e.size,
            });
            continue;
        }
        let key = ObjectKey::parse(&e.name)?;
        // `a/abc/x` and `a/ABC/x` are one key once ids are upper-cased: one is stored,
        // so both must hold the same bytes. Size and CRC-32 (checked against the bytes as
        // they are decompressed) are the comparison; an uploader who forges a CRC-32
        // collision between two of its own files gets one of them stored.
        if let Some(other) = by_key.get(&key) {
            if other.size == e.size && other.crc32 == e.crc32 {
                continue;
            }
            let what = if other.size == e.size {
                "contents"
            } else {
                "sizes"
            };
            return Err(invalid(format!(
                "The zipfile buffer contains two files both stored as {key} (debug ids are stored upper-case): {} and {} have different {what}",
                py_repr(&other.name),
                py_repr(&e.name)
            )));
        }
        by_key.insert(key.clone(), e);
        planned.push(Planned {
            entry: e.clone(),
            key,
        });
    }
    Ok((planned, ignored, content_hash))
}

struct Outcome {
    file: FileReport,
    skipped: bool,
    sym: Option<SymFileReport>,
}

/// A byte budget shared by the workers.
struct Budget {
    free: Mutex<u64>,
    cond: Condvar,
    total: u64,
}

impl Budget {
    fn acquire(&self, want: u64) -> Result<u64> {
        let want = want.clamp(1, self.total);
        let mut free = self
            .free
            .lock()
            .map_err(|_| Error::new(ErrorKind::Internal, "upload budget lock poisoned"))?;
        while *free < want {
            free = self
                .cond
                .wait(free)
                .map_err(|_| Error::new(ErrorKind::Internal, "upload budget lock poisoned"))?;
        }
        *free -= want;
        Ok(want)
    }

    fn release(&self, n: u64) {
        if let Ok(mut free) = self.free.lock() {
            *free += n;
        }
        self.cond.notify_all();
    }
}

/// Shared state of one upload's workers.
struct Work<'s, 'a> {
    store: &'s SymbolStore,
    archive: &'s Archive<'a>,
    area: Area,
    level: u32,
    produced: AtomicU64,
    max_total: TotalLimit,
    failed: AtomicBool,
    budget: Budget,
}

fn store_members(
    store: &SymbolStore,
    archive: &Archive<'_>,
    planned: Vec<Planned>,
    area: Area,
    options: &UploadOptions,
    max_total: TotalLimit,
) -> Result<Vec<Outcome>> {
    // Largest first, so the long members start early and the pool ends together.
    let mut planned = planned;
    planned.sort_by_key(|p| std::cmp::Reverse(p.entry.size));
    let work = Work {
        store,
        archive,
        area,
        level: store.options().gzip_level,
        produced: AtomicU64::new(0),
        max_total,
        failed: AtomicBool::new(false),
        budget: Budget {
            free: Mutex::new(options.memory_budget.max(1)),
            cond: Condvar::new(),
            total: options.memory_budget.max(1),
        },
    };
    let next = AtomicUsize::new(0);
    let files_total = planned.len();
    let bytes_total: u64 = planned.iter().map(|p| p.entry.size).sum();
    let bytes_done = AtomicU64::new(0);
    let files_done = AtomicUsize::new(0);
    let report = |o: &Outcome| {
        if let Some(progress) = &options.progress {
            progress(&UploadProgress {
                files_done: files_done.fetch_add(1, Ordering::Relaxed) + 1,
                files_total,
                bytes_done: bytes_done.fetch_add(o.file.size, Ordering::Relaxed) + o.file.size,
                bytes_total,
                key: o.file.key.clone(),
                skipped: o.skipped,
            });
        }
    };
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(planned.len()));
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let threads = options.threads.clamp(1, 64).min(planned.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if work.failed.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = planned.get(i) else { return };
                match store_one(&work, p) {
                    Ok(o) => {
                        report(&o);
                        if let Ok(mut v) = outcomes.lock() {
                            v.push(o);
                        }
                    }
                    Err(e) => {
                        work.failed.store(true, Ordering::Relaxed);
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error
        .into_inner()
        .map_err(|_| Error::new(ErrorKind::Internal, "upload error lock poisoned"))?
    {
        return Err(e);
    }
    outcomes
        .into_inner()
        .map_err(|_| Error::new(ErrorKind::Internal, "upload result lock poisoned"))
}

/// Reads member `p` through `sink`, enforcing the archive-wide byte limit on the bytes
/// actually produced. A member read a second time (`count` false: after the dedup pass
/// found different content) is not counted again.
fn pump(work: &Work<'_, '_>, p: &Planned, sink: &mut dyn Write, count: bool) -> Result<()> {
    let mut reader = work.archive.open_member(&p.entry)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| member_error(&p.entry.name, e))?;
        if n == 0 {
            return Ok(());
        }
        let total = if count {
            work.produced.fetch_add(n as u64, Ordering::Relaxed) + n as u64
        } else {
            0
        };
        if total > work.max_total.bytes {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Archive decompresses to more than {} bytes",
                    work.max_total.why
                ),
            ));
        }
        if work.failed.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::Internal,
                "upload cancelled after another member failed",
            ));
        }
        sink.write_all(&buf[..n]).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("{}: {e}", py_repr(&p.entry.name)),
            )
        })?;
    }
}

/// An error reading a member: bad data is the uploader's ([`ErrorKind::InvalidInput`],
/// 400), a failure to read the archive itself is ours ([`ErrorKind::Io`]).
fn member_error(name: &str, e: std::io::Error) -> Error {
    let kind = if e.kind() == std::io::ErrorKind::InvalidData && !is_archive_read_error(&e) {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Io
    };
    Error::new(kind, format!("{}: {e}", py_repr(name))).with_source(e)
}

/// MD5 and the first bytes of a member, without storing it (the dedup check).
struct Digester {
    md5: Md5,
    head: Vec<u8>,
}

impl Write for Digester {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.md5.update(buf);
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(buf.len());
            self.head.extend_from_slice(&buf[..take]);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn store_one(work: &Work<'_, '_>, p: &Planned) -> Result<Outcome> {
    let storage = work.store.storage();
    let skey = p.key.storage_key(work.area);
    let compressed = p.key.is_compressed();
    let existing = storage.head(&skey)?;

    // Tecken's dedup: same original size and MD5 means nothing to do. The MD5 pass only
    // decompresses (cheap); the store pass below also compresses.
    let mut digested = false;
    if let Some(meta) = &existing {
        let candidate_md5 = if compressed {
            (meta.original_size == Some(p.entry.size))
                .then(|| meta.original_md5.clone())
                .flatten()
        } else if meta.size == p.entry.size {
            Some(storage.content_md5(&skey)?.unwrap_or_default())
        } else {
            None
        };
        if let Some(stored_md5) = candidate_md5 {
            let mut d = Digester {
                md5: Md5::new(),
                head: Vec::new(),
            };
            pump(work, p, &mut d, true)?;
            digested = true;
            let md5 = hex(&d.md5.finalize());
            // An unknown digest of a raw file (the backend cannot tell) falls back to
            // Tecken's size-only comparison.
            if stored_md5 == md5 || (!compressed && stored_md5.is_empty()) {
                let sym = compressed
                    .then(|| sym_report(work, p, &skey, &d.head))
                    .transpose()?;
                let file = FileReport {
                    key: skey,
                    member: p.entry.name.clone(),
                    size: p.entry.size,
                    stored_size: meta.size,
                    compressed,
                    md5,
                };
                return Ok(Outcome {
                    file,
                    skipped: true,
                    sym,
                });
            }
        }
    }

    let estimate = if compressed {
        p.entry.size / 3
    } else {
        p.entry.size
    };
    // The dedup pass above counted this member's bytes already.
    let count = !digested;
    let held = work.budget.acquire(estimate)?;
    let result = (|| {
        let capacity = estimate.min(64 << 20) as usize;
        let mut enc = Encoder::new(p.key.file(), work.level, HEAD_LEN, capacity);
        pump(work, p, &mut enc, count)?;
        let encoded = enc.finish()?;
        storage.put(&skey, &PutObject::from_encoded(&encoded))?;
        Ok::<_, Error>(encoded)
    })();
    work.budget.release(held);
    let encoded = result?;
    let sym = compressed
        .then(|| sym_report(work, p, &skey, &encoded.head))
        .transpose()?;
    let file = FileReport {
        key: skey,
        member: p.entry.name.clone(),
        size: encoded.original_size,
        stored_size: encoded.body.len() as u64,
        compressed,
        md5: encoded.original_md5,
    };
    Ok(Outcome {
        file,
        skipped: false,
        sym,
    })
}

/// Parses a `.sym` header, compares it with the key, and writes the code-id index entry.
fn sym_report(work: &Work<'_, '_>, p: &Planned, skey: &str, head: &[u8]) -> Result<SymFileReport> {
    let header = match parse_header(head) {
        Ok(h) => h,
        Err(e) => {
            return Ok(SymFileReport {
                key: skey.to_owned(),
                header: None,
                header_error: Some(e.to_string()),
                module_mismatch: None,
            })
        }
    };
    let mismatch = (header.debug_file != p.key.debug_file()
        || !header.debug_id.eq_ignore_ascii_case(p.key.debug_id()))
    .then(|| ModuleMismatch {
        key_debug_file: p.key.debug_file().to_owned(),
        key_debug_id: p.key.debug_id().to_owned(),
        module_debug_file: header.debug_file.clone(),
        module_debug_id: header.debug_id.clone(),
    });
    if let Some(entry) = crate::store::code_id_entry_for(&p.key, &header, work.area == Area::Try) {
        let current = work
            .store
            .lookup_code_id(&entry.code_file, &entry.code_id)?;
        // Only replace an entry that says something else (a re-upload writes nothing),
        // and never a regular entry with a Try one: Try uploads need only a try-scoped
        // token, and must not re-point syminfo and the code-id redirect of a regular
        // module (as `rebuild_code_index` has it, regular entries win).
        let try_over_regular =
            entry.try_symbols && current.as_ref().is_some_and(|c| !c.try_symbols);
        if current.as_ref() != Some(&entry) && !try_over_regular {
            work.store.put_code_id(&entry)?;
        }
    }
    Ok(SymFileReport {
        key: skey.to_owned(),
        header: Some(header),
        header_error: None,
        module_mismatch: mismatch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names() {
        for bad in [
            "/abc/def",
            "../ABC/x.sym",
            "a/../b",
            "./x/y",
            "a\\b\\c",
            "C:/x/y",
        ] {
            assert!(is_unsafe_name(bad), "{bad}");
        }
        for ok in ["a/B/c", "flag/", "c++filt/AB/c++filt.sym", "a..b/AB/c"] {
            assert!(!is_unsafe_name(ok), "{ok}");
        }
    }

    #[test]
    fn ignored_members() {
        assert!(is_ignored_member("build-symbols.txt"));
        assert!(is_ignored_member("flag/.DS_Store"));
        assert!(!is_ignored_member("a/B/c.sym"));
    }
}
