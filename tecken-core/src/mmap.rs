//! Read-only file mappings and the index's string view: the crate's only `unsafe` code.
//!
//! # Mapped files that change on disk
//!
//! Index files are immutable by contract (written to a temporary name, renamed into
//! place), but they live in a directory on disk that others may write to. What happens
//! when a mapped file is changed anyway:
//!
//! - **Truncated** (or cut and rewritten): a read of a page past the new end would raise
//!   SIGBUS and kill the process. On Linux, a SIGBUS handler (see [`sigbus`]) turns that
//!   into zero pages and a poisoned flag: the read completes with zeros and the index
//!   reports itself damaged ([`Bytes::is_damaged`]) from then on. Detected at the first
//!   read of a missing page; costs nothing until then, and one atomic load per lookup.
//! - **Overwritten in place** (same size): the mapping shows the new bytes at once. Every
//!   read is bounds-checked, so the worst outcome is a wrong answer, never undefined
//!   behaviour. [`Bytes::recheck`] compares the file's size, modification time and inode
//!   with those at open time; the symbolicator calls it at most once a second per open
//!   module (a `stat`), so such a change is noticed within a second of the next use.
//!   Someone who rewrites a file and then resets its modification time is not noticed.
//! - **Replaced or removed** (rename, unlink): the mapping keeps the old inode, which is
//!   intact; nothing to do.
//!
//! A damaged index is dropped by the symbolicator and opened again from disk, where the
//! open's checks (and the body CRC, verified when an index enters a process from the disk
//! cache) reject a bad file, which is then rebuilt from its `.sym`.
//!
//! Elsewhere than Linux only the in-place check applies: a truncation of a mapped file
//! raises SIGBUS as for every other program that maps files.

#[cfg(target_os = "linux")]
mod sigbus;

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};

/// Bytes of an index: mapped from a file or owned in memory.
#[derive(Debug)]
pub(crate) enum Bytes {
    Mapped(Mapping),
    Owned(Vec<u8>),
}

/// What identifies a version of a file: its inode, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        FileStamp {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// `dev ino len mtime`: one line that names this version of the file, or `None` when
    /// the platform gives no modification time.
    pub(crate) fn describe(&self) -> Option<String> {
        let m = self.modified?.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        Some(format!(
            "{} {} {} {}.{:09}",
            self.dev,
            self.ino,
            self.len,
            m.as_secs(),
            m.subsec_nanos()
        ))
    }
}

/// Milliseconds since the first call in this process.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// A read-only mapping of a file, registered with the SIGBUS handler while it lives.
pub(crate) struct Mapping {
    map: memmap2::Mmap,
    /// Its slot in the SIGBUS registry (Linux), `None` elsewhere.
    slot: Option<usize>,
    path: PathBuf,
    stamp: FileStamp,
    /// When the file was last compared with `stamp` ([`now_ms`]).
    checked_ms: AtomicU64,
    /// The file was found changed in place.
    changed: AtomicBool,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("path", &self.path)
            .field("len", &self.map.len())
            .field("slot", &self.slot)
            .finish()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Deregister before `map` is dropped (fields drop after this): the handler must
        // never map over a range that is no longer ours.
        #[cfg(target_os = "linux")]
        if let Some(slot) = self.slot {
            sigbus::deregister(slot);
        }
    }
}

impl Mapping {
    #[inline]
    fn is_damaged(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(slot) = self.slot {
            if sigbus::is_poisoned(slot) {
                return true;
            }
        }
        self.changed.load(Ordering::Acquire)
    }

    fn recheck(&self, max_age: Duration) -> bool {
        if self.is_damaged() {
            return true;
        }
        let now = now_ms();
        let last = self.checked_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < max_age.as_millis() as u64 {
            return false;
        }
        // One thread checks; the others go on with the last answer.
        if self
            .checked_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return self.is_damaged();
        }
        if let Ok(meta) = std::fs::metadata(&self.path) {
            let now = FileStamp::of(&meta);
            // Another inode under the name (replaced, rebuilt) leaves ours intact.
            let same_file = now.dev == self.stamp.dev && now.ino == self.stamp.ino;
            if same_file && now != self.stamp {
                self.changed.store(true, Ordering::Release);
            }
        }
        self.is_damaged()
    }
}

/// Asks the CPU to start loading the cache lines of `b[at..at + len]` (at most 8 lines):
/// the index searches are branch-free, so each probe waits for the one before it, and
/// without this every probe of a block that is not in cache is a miss of its own.
#[inline(always)]
pub(crate) fn prefetch(b: &[u8], at: usize, len: usize) {
    prefetch_lines::<8>(b, at, len);
}

/// [`prefetch`], up to `MAX` cache lines.
#[inline(always)]
pub(crate) fn prefetch_lines<const MAX: usize>(b: &[u8], at: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        if len == 0 {
            return;
        }
        let end = at.saturating_add(len).min(b.len());
        // The first cache line holding `b[at]` (an owned buffer need not be 64-aligned).
        let mut p = at.saturating_sub((b.as_ptr() as usize).wrapping_add(at) & 63);
        let mut n = 0;
        while p < end && n < MAX {
            // SAFETY: a prefetch is a hint that never faults, and `p` is inside `b`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(b.as_ptr().add(p).cast::<i8>()) };
            p += 64;
            n += 1;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (b, at, len);
}

impl Bytes {
    /// Maps `path` read-only.
    ///
    /// # Safety
    ///
    /// Mapping a file is unsafe in Rust because another process could change the file while
    /// it is mapped, and the bytes would change under a `&[u8]`. We map files that are
    /// never modified in place by this crate: index files are written to a temporary name
    /// and renamed into place (see [`crate::fsutil::write_atomic`]); replacing or deleting
    /// them leaves an existing mapping on the old inode intact. Should someone else change
    /// one in place anyway, the bytes are only ever read through bounds-checked accessors,
    /// which can return wrong values but never read out of bounds, and a truncation is
    /// survived as the module docs describe. A mapping that cannot be registered with the
    /// SIGBUS handler (the registry is full) is not kept: the file is read into memory.
    pub(crate) fn map_file(path: &Path) -> Result<Bytes> {
        Bytes::map_or_read(path, 0)
    }

    /// [`Bytes::map_file`], except that a file of at most `read_max` bytes is read into
    /// memory (one `read` instead of `mmap`, `madvise`, the SIGBUS registration and, at the
    /// end, `munmap`; and none of the page faults of a fresh mapping).
    pub(crate) fn map_or_read(path: &Path, read_max: u64) -> Result<Bytes> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.len() == 0 {
            // Mapping an empty file fails on some platforms; an empty index is corrupt anyway.
            return Ok(Bytes::Owned(Vec::new()));
        }
        if meta.len() <= read_max {
            return Bytes::read_file(file, path, meta.len());
        }
        // SAFETY: see the function docs.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        #[cfg(target_os = "linux")]
        let slot = match sigbus::register(map.as_ptr() as usize, map.len()) {
            Some(slot) => Some(slot),
            None => {
                drop(map);
                return Bytes::read_file(file, path, meta.len());
            }
        };
        #[cfg(not(target_os = "linux"))]
        let slot = None;
        Ok(Bytes::Mapped(Mapping {
            map,
            slot,
            path: path.to_owned(),
            stamp: FileStamp::of(&meta),
            checked_ms: AtomicU64::new(now_ms()),
            changed: AtomicBool::new(false),
        }))
    }

    /// The whole of `file` (of about `len` bytes: it may have changed since) in memory.
    fn read_file(file: File, path: &Path, len: u64) -> Result<Bytes> {
        use std::io::Read;
        // At most one byte more than expected: a file that grew since is not read whole
        // (an index that is not the size its header states is refused anyway), and the
        // read that finds the end needs no second allocation. Through `Take`, too, rather
        // than `File::read_to_end`, which asks the size (`fstat`, `lseek`) again first.
        let want = usize::try_from(len).unwrap_or(0).saturating_add(1);
        let mut v = Vec::with_capacity(want);
        let mut file = file.take(len.saturating_add(1));
        file.read_to_end(&mut v).map_err(|e| Error::io(path, e))?;
        Ok(Bytes::Owned(v))
    }

    /// Whether the file under these bytes was found truncated (a read faulted and now
    /// reads zeros) or changed in place. Owned bytes never are.
    #[inline]
    pub(crate) fn is_damaged(&self) -> bool {
        match self {
            Bytes::Mapped(m) => m.is_damaged(),
            Bytes::Owned(_) => false,
        }
    }

    /// [`Bytes::is_damaged`], after comparing the file's inode, size and modification time
    /// with those at open time if the last comparison is older than `max_age`.
    pub(crate) fn recheck(&self, max_age: Duration) -> bool {
        match self {
            Bytes::Mapped(m) => m.recheck(max_age),
            Bytes::Owned(_) => false,
        }
    }

    /// Maps the index file at `path` read-only for lookups: with `MADV_RANDOM`, so that a
    /// page fault reads that page and not the device's readahead window (8 MB per fault on
    /// the reference VM); a lookup touches ~10 scattered pages of a cold file. A file of at
    /// most `read_max` bytes is read instead (see [`Bytes::map_or_read`]).
    pub(crate) fn map_index_or_read(path: &Path, read_max: u64) -> Result<Bytes> {
        let bytes = Bytes::map_or_read(path, read_max)?;
        bytes.advise(false);
        Ok(bytes)
    }

    /// Tells the kernel how the mapping will be read: in order (`verify`) or at random
    /// (lookups). Only a hint: errors are ignored.
    pub(crate) fn advise(&self, sequential: bool) {
        #[cfg(unix)]
        if let Bytes::Mapped(Mapping { map: m, .. }) = self {
            let advice = if sequential {
                memmap2::Advice::Sequential
            } else {
                memmap2::Advice::Random
            };
            let _ = m.advise(advice);
        }
        #[cfg(not(unix))]
        let _ = sequential;
    }

    /// The version of the file these bytes were mapped from (`None` for owned bytes).
    pub(crate) fn file_stamp(&self) -> Option<&FileStamp> {
        match self {
            Bytes::Mapped(m) => Some(&m.stamp),
            Bytes::Owned(_) => None,
        }
    }

    /// Lets the kernel drop this process's pages of `range` (`MADV_DONTNEED`): a read of
    /// them later faults them in again from the page cache or the file. Keeps a pass over
    /// the whole file (`Index::verify`) out of the process's resident set. Only a hint.
    pub(crate) fn release(&self, range: Range<usize>) {
        #[cfg(unix)]
        if let Bytes::Mapped(Mapping { map: m, .. }) = self {
            let end = range.end.min(m.len());
            let start = range.start.min(end);
            // SAFETY: `m` is a shared, read-only mapping of a file (`Mmap::map`): dropping
            // its pages discards nothing, a later read sees the file's bytes as before, so
            // every `&[u8]` into the mapping stays valid and unchanged. (Ranges the SIGBUS
            // handler replaced with zero pages read as zeros again.)
            let _ = unsafe {
                m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
        #[cfg(not(unix))]
        let _ = range;
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => &m.map,
            Bytes::Owned(v) => v,
        }
    }
}

/// Bytes of the string blocks checked so far: unknown, all ASCII, or not.
const UNKNOWN: u8 = 0;
const ASCII: u8 = 1;
const NOT_ASCII: u8 = 2;
/// Size of a string block whose ASCII-ness is checked once.
const STR_BLOCK: usize = 4096;

/// The bytes of an index with a view of its string table that returns `&str` without
/// checking UTF-8 on every lookup.
///
/// The string table is cut into 4 KB blocks; the first time a string in a block is read,
/// the whole block is checked to be ASCII (a page the lookup faults in anyway) and the
/// answer is kept. A string that lies in ASCII blocks only is valid UTF-8 whatever its
/// bounds, so it is returned without touching its bytes; any other string is checked with
/// `str::from_utf8` as before. A corrupt file therefore still gives valid `&str`s (or
/// `""`), never undefined behaviour. The bytes never change once mapped by anyone who
/// follows the cache's rules (see [`Bytes::map_file`]). Zero pages put in by the SIGBUS
/// handler are ASCII, so they keep the invariant. A writer who breaks the rules and
/// rewrites a mapped file in place can break it (as it can for every program that maps
/// files): until the change is noticed (see the module docs), strings may hold its bytes.
/// The string range and block states change together, only through `&mut self`.
#[derive(Debug)]
pub(crate) struct IndexBytes {
    bytes: Bytes,
    strings: Range<usize>,
    blocks: Box<[AtomicU8]>,
}

impl IndexBytes {
    pub(crate) fn new(bytes: Bytes) -> Self {
        IndexBytes {
            bytes,
            strings: 0..0,
            blocks: Box::new([]),
        }
    }

    /// Sets the string table's byte range (clamped to the bytes).
    pub(crate) fn set_strings(&mut self, range: Range<usize>) {
        let len = self.bytes.as_slice().len();
        let range = range.start.min(len)..range.end.min(len);
        let range = range.start..range.end.max(range.start);
        let n = range.len().div_ceil(STR_BLOCK);
        self.blocks = std::iter::repeat_with(|| AtomicU8::new(UNKNOWN))
            .take(n)
            .collect();
        self.strings = range;
    }

    #[inline]
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    #[inline]
    fn block_is_ascii(&self, k: usize) -> bool {
        let Some(state) = self.blocks.get(k) else {
            return false;
        };
        match state.load(Ordering::Relaxed) {
            ASCII => true,
            NOT_ASCII => false,
            _ => {
                let start = self.strings.start + k * STR_BLOCK;
                let end = (start + STR_BLOCK).min(self.strings.end);
                let ascii = self
                    .as_slice()
                    .get(start..end)
                    .is_some_and(|b| b.is_ascii());
                // Relaxed is enough: the state is a pure function of immutable bytes.
                state.store(if ascii { ASCII } else { NOT_ASCII }, Ordering::Relaxed);
                ascii
            }
        }
    }

    /// The string at `off..off + len` of the string table; `""` when it is out of bounds or
    /// not UTF-8.
    #[inline]
    pub(crate) fn str_at(&self, off: u32, len: u32) -> &str {
        let (off, len) = (off as usize, len as usize);
        let start = self.strings.start.saturating_add(off);
        let end = start.saturating_add(len);
        if end > self.strings.end || len == 0 {
            return "";
        }
        let Some(s) = self.as_slice().get(start..end) else {
            return "";
        };
        let (first, last) = (off / STR_BLOCK, (off + len - 1) / STR_BLOCK);
        if (first..=last).all(|k| self.block_is_ascii(k)) {
            // SAFETY: every byte of `s` lies in a block of these same (immutable) bytes that
            // was checked to be ASCII, so `s` is valid UTF-8.
            return unsafe { std::str::from_utf8_unchecked(s) };
        }
        std::str::from_utf8(s).unwrap_or("")
    }
}
