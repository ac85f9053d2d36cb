//! The options of an upload: its limits, worker pool and byte budget, progress callback,
//! and where the archive comes from.

use std::io::Read;
use std::path::Path;

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

/// Options of [`upload_archive`](super::upload_archive).
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
