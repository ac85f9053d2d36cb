//! Read-only file mappings and the index's string view: the crate's only `unsafe` code.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

/// Bytes of an index: mapped from a file or owned in memory.
#[derive(Debug)]
pub(crate) enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

/// Asks the CPU to start loading the cache lines of `b[at..at + len]` (at most 8 lines):
/// the index searches are branch-free, so each probe waits for the one before it, and
/// without this every probe of a block that is not in cache is a miss of its own.
#[inline(always)]
pub(crate) fn prefetch(b: &[u8], at: usize, len: usize) {
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
        while p < end && n < 8 {
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
    /// it is mapped, and the bytes would change under a `&[u8]`. We only map files that are
    /// never modified in place: index files are written to a temporary name and renamed into
    /// place (see [`crate::fsutil::write_atomic`]); replacing or deleting them leaves an
    /// existing mapping on the old inode intact. Every read of the bytes is bounds-checked,
    /// so even a file truncated behind our back cannot cause an out-of-bounds read within
    /// Rust; a truncation of a mapped file by a foreign process (which this crate never
    /// does) would raise SIGBUS, as for every mmap user.
    pub(crate) fn map_file(path: &Path) -> Result<Bytes> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            // Mapping an empty file fails on some platforms; an empty index is corrupt anyway.
            return Ok(Bytes::Owned(Vec::new()));
        }
        // SAFETY: see the function docs: index files are immutable once renamed into place.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Bytes::Mapped(map))
    }

    /// Maps the index file at `path` read-only for lookups: with `MADV_RANDOM`, so that a
    /// page fault reads that page and not the device's readahead window (8 MB per fault on
    /// the reference VM); a lookup touches ~10 scattered pages of a cold file.
    pub(crate) fn map_index(path: &Path) -> Result<Bytes> {
        let bytes = Bytes::map_file(path)?;
        bytes.advise(false);
        Ok(bytes)
    }

    /// Tells the kernel how the mapping will be read: in order (`verify`) or at random
    /// (lookups). Only a hint: errors are ignored.
    pub(crate) fn advise(&self, sequential: bool) {
        #[cfg(unix)]
        if let Bytes::Mapped(m) = self {
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

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
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
/// `""`), never undefined behaviour. The bytes never change once mapped (see
/// [`Bytes::map_file`]), and the string range and block states change together, only
/// through `&mut self`.
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

    /// Starts loading the first cache line of the string at `off` (see [`prefetch`]).
    #[inline]
    pub(crate) fn prefetch_str(&self, off: u32) {
        prefetch(
            self.as_slice(),
            self.strings.start.saturating_add(off as usize),
            1,
        );
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
